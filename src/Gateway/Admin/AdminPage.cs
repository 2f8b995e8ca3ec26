namespace PortMapper.Gateway.Admin;

/// <summary>The admin page. Everything shown is put in with textContent, never as HTML: descriptions come from LAN hosts.</summary>
internal static class AdminPage
{
    public const string Html = """
        <!doctype html>
        <html lang="en">
        <head>
        <meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <meta name="portmapper-token" content="{{TOKEN}}">
        <title>PortMapper</title>
        <style nonce="{{NONCE}}">
          body { font: 14px system-ui, sans-serif; margin: 1.5em; color: #222; }
          header { display: flex; flex-wrap: wrap; gap: 1.5em; align-items: baseline; margin-bottom: 1em; }
          h1 { font-size: 1.4em; margin: 0; }
          .bad { color: #b00; }
          table { border-collapse: collapse; width: 100%; }
          th, td { text-align: left; padding: .3em .6em; border-bottom: 1px solid #ddd; }
          th { background: #f4f4f4; }
          td.num { font-variant-numeric: tabular-nums; }
          button { cursor: pointer; }
        </style>
        </head>
        <body>
        <header>
          <h1>PortMapper</h1>
          <span>external address <b id="external">…</b> <span id="reserved"></span></span>
          <span>kernel <b id="kernel">…</b></span>
          <span>leases <b id="total">…</b> <span id="counts"></span></span>
          <span>up <b id="uptime">…</b></span>
          <span id="error" class="bad"></span>
        </header>
        <table>
          <thead><tr><th>protocol</th><th>external port</th><th>internal</th><th>client</th><th>device</th><th>description</th><th>origin</th><th>time left</th><th></th></tr></thead>
          <tbody id="leases"></tbody>
        </table>
        <script nonce="{{NONCE}}">
        "use strict";
        const token = document.querySelector('meta[name="portmapper-token"]').content;
        const headers = { "Authorization": "Bearer " + token };

        function duration(seconds) {
          if (seconds === null) return "permanent";
          const d = Math.floor(seconds / 86400), h = Math.floor(seconds % 86400 / 3600), m = Math.floor(seconds % 3600 / 60), s = seconds % 60;
          return (d ? d + "d " : "") + (d || h ? h + "h " : "") + (d || h || m ? m + "m " : "") + s + "s";
        }

        function cell(row, text, cls) {
          const td = row.insertCell();
          td.textContent = text;
          if (cls) td.className = cls;
          return td;
        }

        async function revoke(id) {
          const answer = await fetch("/api/leases/" + id, { method: "DELETE", headers });
          if (!answer.ok && answer.status !== 404) document.getElementById("error").textContent = "revoke failed: " + answer.status;
          await refresh();
        }

        async function refresh() {
          try {
            const [statusAnswer, leasesAnswer] = await Promise.all([fetch("/api/status", { headers }), fetch("/api/leases", { headers })]);
            if (!statusAnswer.ok || !leasesAnswer.ok) throw new Error("HTTP " + statusAnswer.status + "/" + leasesAnswer.status);
            const status = await statusAnswer.json(), leases = await leasesAnswer.json();
            document.getElementById("external").textContent = status.externalAddress ?? "none";
            document.getElementById("reserved").textContent = status.externalAddressIsReserved ? "(" + status.externalAddressKind + ")" : "";
            document.getElementById("kernel").textContent = status.kernelInSync ? "in sync" : "NOT in sync";
            document.getElementById("kernel").className = status.kernelInSync ? "" : "bad";
            document.getElementById("total").textContent = status.leaseTotal;
            document.getElementById("counts").textContent = "(" + Object.entries(status.leases).filter(e => e[1] > 0).map(e => e[0] + " " + e[1]).join(", ") + ")";
            document.getElementById("uptime").textContent = duration(status.uptimeSeconds);
            const body = document.getElementById("leases");
            body.replaceChildren();
            for (const lease of leases) {
              const row = body.insertRow();
              row.dataset.leaseId = lease.id;
              cell(row, lease.protocol.toUpperCase());
              cell(row, lease.pinhole ? "(pinhole)" : lease.externalPort, "num");
              cell(row, (lease.pinhole ? "[" + lease.internalAddress + "]" : lease.internalAddress) + ":" + lease.internalPort);
              cell(row, lease.client);
              cell(row, lease.device ?? "");
              cell(row, lease.description);
              cell(row, lease.origin);
              cell(row, duration(lease.secondsLeft), "num");
              const button = document.createElement("button");
              button.textContent = "Revoke";
              button.addEventListener("click", () => revoke(lease.id));
              row.insertCell().appendChild(button);
            }
            document.getElementById("error").textContent = "";
          } catch (e) {
            document.getElementById("error").textContent = "cannot reach the gateway: " + e.message;
          }
        }

        refresh();
        setInterval(refresh, 2000);
        </script>
        </body>
        </html>
        """;
}
