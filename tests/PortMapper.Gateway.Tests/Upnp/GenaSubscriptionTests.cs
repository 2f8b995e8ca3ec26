using System.Net;
using PortMapper.Gateway.Network;
using PortMapper.Gateway.Upnp;
using PortMapper.Protocols.Upnp;

namespace PortMapper.Gateway.Tests.Upnp;

/// <summary>A subscriber that does not answer holds one waiting event, not a backlog.</summary>
public class GenaSubscriptionTests
{
    private static GenaSubscription New() => new(
        "uuid:1", ServiceDefinition.WanIPConnection1, new Uri("http://192.168.77.10:5000/evt"), IPAddress.Parse("192.168.77.10"),
        new LanInterface("br-lan", []), DateTimeOffset.UnixEpoch);

    private static KeyValuePair<string, string> V(string name, string value) => new(name, value);

    [Fact]
    public void ChangesWhileOneWaits_JoinIt_LatestValueWins_OneSequenceNumber()
    {
        GenaSubscription subscription = New();
        Assert.True(subscription.Add([V("SystemUpdateID", "1"), V("ExternalIPAddress", "203.0.113.1")]));
        for (int i = 2; i <= 1000; i++)
        {
            Assert.False(subscription.Add([V("SystemUpdateID", i.ToString(System.Globalization.CultureInfo.InvariantCulture))]));
        }

        Assert.Equal(2, subscription.PendingCount);
        (uint sequence, List<KeyValuePair<string, string>> values) = subscription.Take();
        Assert.Equal(0u, sequence);
        Assert.Equal([V("SystemUpdateID", "1000"), V("ExternalIPAddress", "203.0.113.1")], values);
        Assert.Equal(0, subscription.PendingCount);

        // The next change chains a new event, with the next SEQ.
        Assert.True(subscription.Add([V("SystemUpdateID", "1001")]));
        Assert.Equal(1u, subscription.Take().Sequence);
    }
}
