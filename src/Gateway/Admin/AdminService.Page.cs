using Microsoft.AspNetCore.Http;

namespace PortMapper.Gateway.Admin;

/// <summary>
/// The web page: a status header and the live lease table with a revoke button per lease, refreshed every two
/// seconds from the API. The token the page was opened with is handed to its script, which sends it as a bearer
/// header; a content security policy admits only that script (by nonce) and no other origin.
/// </summary>
public sealed partial class AdminService
{
    private Task PageAsync(HttpResponse response)
    {
        string nonce = Convert.ToBase64String(KernelBackend.Native.SecureRandom.GetBytes(16));
        response.ContentType = "text/html; charset=utf-8";
        response.Headers.ContentSecurityPolicy = $"default-src 'none'; script-src 'nonce-{nonce}'; style-src 'nonce-{nonce}'; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";
        response.Headers["Referrer-Policy"] = "no-referrer";
        response.Headers["X-Frame-Options"] = "DENY";
        return response.WriteAsync(AdminPage.Html.Replace("{{NONCE}}", nonce, StringComparison.Ordinal).Replace("{{TOKEN}}", _token, StringComparison.Ordinal));
    }
}
