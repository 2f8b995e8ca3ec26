using System.Security.Cryptography;
using System.Text;

namespace PortMapper.Gateway.Admin;

/// <summary>
/// The admin endpoint's bearer token, kept in <c>STATE_DIR/admin.token</c>: created at first start from 32 random
/// bytes, readable by its owner only (0600), and reused afterwards.
/// </summary>
public static class AdminToken
{
    public const string FileName = "admin.token";

    public static string LoadOrCreate(string stateDirectory)
    {
        string path = Path.Combine(stateDirectory, FileName);
        if (File.Exists(path))
        {
            File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
            string kept = File.ReadAllText(path).Trim();
            if (kept.Length >= 32)
            {
                return kept;
            }
        }

        Directory.CreateDirectory(stateDirectory);
        string token = Convert.ToBase64String(KernelBackend.Native.SecureRandom.GetBytes(32)).TrimEnd('=').Replace('+', '-').Replace('/', '_');
        var options = new FileStreamOptions
        {
            Mode = FileMode.Create,
            Access = FileAccess.Write,
            UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite,
        };
        using (var file = new FileStream(path, options))
        {
            file.Write(Encoding.ASCII.GetBytes(token + "\n"));
            file.Flush(flushToDisk: true);
        }

        File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        return token;
    }

    /// <summary>Reads the token a client (the CLI) should send; null when the file is missing or unreadable.</summary>
    public static string? TryRead(string path)
    {
        try
        {
            return File.ReadAllText(path).Trim();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>Constant-time comparison of an offered token with the real one.</summary>
    public static bool Matches(string? offered, string token) =>
        offered is not null && CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(offered), Encoding.UTF8.GetBytes(token));
}
