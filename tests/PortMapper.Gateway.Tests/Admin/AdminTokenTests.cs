using PortMapper.Gateway.Admin;

namespace PortMapper.Gateway.Tests.Admin;

public sealed class AdminTokenTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    [Fact]
    public void FirstStart_CreatesAPrivateRandomToken_LaterStartsReuseIt()
    {
        string token = AdminToken.LoadOrCreate(_dir.Path);
        string path = Path.Combine(_dir.Path, AdminToken.FileName);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(path));
        Assert.True(token.Length >= 43);
        Assert.Matches("^[A-Za-z0-9_-]+$", token);
        Assert.Equal(token, AdminToken.LoadOrCreate(_dir.Path));
        Assert.NotEqual(token, AdminToken.LoadOrCreate(new TempDirectory().Path));
    }

    [Fact]
    public void LoosePermissions_AreTightenedAtStart()
    {
        string token = AdminToken.LoadOrCreate(_dir.Path);
        string path = Path.Combine(_dir.Path, AdminToken.FileName);
        File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.OtherRead);
        Assert.Equal(token, AdminToken.LoadOrCreate(_dir.Path));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(path));
    }

    [Theory]
    [InlineData(null, false)]
    [InlineData("", false)]
    [InlineData("abc", false)]
    public void Matches_RefusesAnythingElse(string? offered, bool expected) =>
        Assert.Equal(expected, AdminToken.Matches(offered, AdminToken.LoadOrCreate(_dir.Path)));

    [Fact]
    public void Matches_TheToken() => Assert.True(AdminToken.Matches(AdminToken.LoadOrCreate(_dir.Path), AdminToken.LoadOrCreate(_dir.Path)));

    public void Dispose() => _dir.Dispose();
}
