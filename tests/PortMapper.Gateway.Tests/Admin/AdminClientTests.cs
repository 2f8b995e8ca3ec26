using PortMapper.Gateway.Admin;

namespace PortMapper.Gateway.Tests.Admin;

public class AdminClientTests
{
    [Theory]
    [InlineData(null, "permanent")]
    [InlineData(0L, "0s")]
    [InlineData(59L, "59s")]
    [InlineData(600L, "10m 0s")]
    [InlineData(3661L, "1h 1m 1s")]
    [InlineData(90061L, "1d 1h 1m 1s")]
    public void Duration_IsReadable(long? seconds, string expected) => Assert.Equal(expected, AdminClient.Duration(seconds));

    [Fact]
    public void Table_PadsColumnsToTheWidestCell()
    {
        string table = AdminClient.Table([["ID", "PROTO", "DESCRIPTION"], ["1", "tcp", "web"], ["12345", "udp", ""]]);
        Assert.Equal("ID     PROTO  DESCRIPTION\n1      tcp    web\n12345  udp    \n", table);
    }
}
