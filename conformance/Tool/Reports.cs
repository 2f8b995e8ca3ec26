using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Xml;

namespace PortMapper.Conformance.Tool;

/// <summary>The terminal table (by suite, failures first), the JSON report and JUnit XML.</summary>
internal static class Reports
{
    private static string Word(Outcome outcome) => outcome switch
    {
        Outcome.Pass => "PASS",
        Outcome.Fail => "FAIL",
        _ => "SKIP",
    };

    public static string Summary(IReadOnlyList<CaseResult> results) =>
        $"{results.Count(r => r.Outcome == Outcome.Pass)} passed, {results.Count(r => r.Outcome == Outcome.Fail)} failed, {results.Count(r => r.Outcome == Outcome.Skip)} skipped";

    public static void Table(TextWriter output, string gateway, IReadOnlyList<CaseResult> results, IReadOnlyList<string> notUndone)
    {
        output.WriteLine($"pm-conformance against {gateway}");
        foreach (IGrouping<string, CaseResult> suite in results.GroupBy(r => r.Case.Suite))
        {
            output.WriteLine();
            output.WriteLine($"{suite.Key}: {Summary([.. suite])}");
            foreach (CaseResult result in suite.OrderBy(r => r.Outcome switch { Outcome.Fail => 0, Outcome.Skip => 2, _ => 1 }))
            {
                output.WriteLine($"  {Word(result.Outcome)}  {result.Case.Id,-42} {result.Case.Section}");
                if (result.Outcome == Outcome.Fail)
                {
                    output.WriteLine($"        expected: {result.Expected}");
                    output.WriteLine($"        got:      {result.Got}");
                }
                else if (result.Outcome == Outcome.Skip)
                {
                    output.WriteLine($"        skipped:  {result.Got}");
                }
            }
        }

        output.WriteLine();
        foreach (string left in notUndone)
        {
            output.WriteLine($"could not undo: {left}");
        }

        output.WriteLine($"total: {Summary(results)}");
    }

    public static void Json(string path, string gateway, IReadOnlyList<CaseResult> results, IReadOnlyList<string> notUndone)
    {
        using var stream = File.Create(path);
        using var json = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true });
        json.WriteStartObject();
        json.WriteString("gateway", gateway);
        json.WriteString("finished", DateTimeOffset.UtcNow);
        json.WriteNumber("passed", results.Count(r => r.Outcome == Outcome.Pass));
        json.WriteNumber("failed", results.Count(r => r.Outcome == Outcome.Fail));
        json.WriteNumber("skipped", results.Count(r => r.Outcome == Outcome.Skip));
        json.WriteStartArray("cases");
        foreach (CaseResult result in results)
        {
            json.WriteStartObject();
            json.WriteString("id", result.Case.Id);
            json.WriteString("suite", result.Case.Suite);
            json.WriteString("section", result.Case.Section);
            json.WriteString("title", result.Case.Title);
            json.WriteString("outcome", Word(result.Outcome));
            if (result.Outcome == Outcome.Fail)
            {
                json.WriteString("expected", result.Expected);
                json.WriteString("got", result.Got);
            }
            else if (result.Outcome == Outcome.Skip)
            {
                json.WriteString("reason", result.Got);
            }

            json.WriteNumber("milliseconds", Math.Round(result.Duration.TotalMilliseconds));
            json.WriteEndObject();
        }

        json.WriteEndArray();
        json.WriteStartArray("notUndone");
        foreach (string left in notUndone)
        {
            json.WriteStringValue(left);
        }

        json.WriteEndArray();
        json.WriteEndObject();
    }

    public static void JUnit(string path, string gateway, IReadOnlyList<CaseResult> results)
    {
        using var xml = XmlWriter.Create(path, new XmlWriterSettings { Indent = true, Encoding = new UTF8Encoding(false) });
        xml.WriteStartElement("testsuites");
        xml.WriteAttributeString("name", "pm-conformance " + gateway);
        foreach (IGrouping<string, CaseResult> suite in results.GroupBy(r => r.Case.Suite))
        {
            xml.WriteStartElement("testsuite");
            xml.WriteAttributeString("name", suite.Key);
            xml.WriteAttributeString("tests", suite.Count().ToString(CultureInfo.InvariantCulture));
            xml.WriteAttributeString("failures", suite.Count(r => r.Outcome == Outcome.Fail).ToString(CultureInfo.InvariantCulture));
            xml.WriteAttributeString("skipped", suite.Count(r => r.Outcome == Outcome.Skip).ToString(CultureInfo.InvariantCulture));
            xml.WriteAttributeString("time", suite.Sum(r => r.Duration.TotalSeconds).ToString("0.000", CultureInfo.InvariantCulture));
            foreach (CaseResult result in suite)
            {
                xml.WriteStartElement("testcase");
                xml.WriteAttributeString("classname", suite.Key);
                xml.WriteAttributeString("name", $"{result.Case.Id} ({result.Case.Section})");
                xml.WriteAttributeString("time", result.Duration.TotalSeconds.ToString("0.000", CultureInfo.InvariantCulture));
                if (result.Outcome == Outcome.Fail)
                {
                    xml.WriteStartElement("failure");
                    xml.WriteAttributeString("message", $"expected {result.Expected}; got {result.Got}");
                    xml.WriteString(result.Case.Title);
                    xml.WriteEndElement();
                }
                else if (result.Outcome == Outcome.Skip)
                {
                    xml.WriteStartElement("skipped");
                    xml.WriteAttributeString("message", result.Got);
                    xml.WriteEndElement();
                }

                xml.WriteEndElement();
            }

            xml.WriteEndElement();
        }

        xml.WriteEndElement();
    }
}
