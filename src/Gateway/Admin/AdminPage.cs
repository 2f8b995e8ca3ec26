namespace PortMapper.Gateway.Admin;

/// <summary>
/// The admin page: status, the devices with their mappings under them and a switch each for permission and Open NAT,
/// traffic per mapping, the recent events and requests per minute over the last hour. It follows the event stream
/// (read with fetch, so the token goes in a header) and fetches again only when something happened. Everything
/// shown is put in with textContent, never as HTML: names and descriptions come from LAN hosts.
/// </summary>
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
          body { font: 14px system-ui, sans-serif; margin: 1.5em; color: #222; max-width: 1400px; }
          header { display: flex; flex-wrap: wrap; gap: 1.5em; align-items: baseline; margin-bottom: 1em; }
          h1 { font-size: 1.4em; margin: 0; }
          h2 { font-size: 1.1em; margin: 1.2em 0 .4em; }
          .bad { color: #b00; }
          .muted { color: #777; }
          .layout { display: grid; grid-template-columns: minmax(0, 5fr) minmax(0, 2fr); gap: 1.5em; }
          @media (max-width: 900px) { .layout { grid-template-columns: 1fr; } }
          .device { border: 1px solid #ddd; border-radius: 6px; padding: .6em .8em; margin-bottom: .8em; overflow-x: auto; }
          .device.denied { background: #fff5f5; }
          .device-head { display: flex; flex-wrap: wrap; gap: 1em; align-items: baseline; }
          .device-name { font-weight: 600; font-size: 1.05em; }
          .switches { margin-left: auto; display: flex; gap: 1em; }
          .switches label { cursor: pointer; user-select: none; }
          table { border-collapse: collapse; width: 100%; margin-top: .4em; }
          th, td { text-align: left; padding: .25em .5em; border-bottom: 1px solid #eee; }
          th { background: #f6f6f6; font-weight: 600; }
          td.num { font-variant-numeric: tabular-nums; white-space: nowrap; }
          th { white-space: nowrap; }
          td.description { overflow-wrap: anywhere; }
          #events { list-style: none; padding: 0; margin: 0; max-height: 32em; overflow-y: auto; }
          #events li { padding: .25em 0; border-bottom: 1px solid #eee; }
          #events .kind { font-weight: 600; }
          #events .refused, #events .revoked { color: #b00; }
          #events .granted { color: #070; }
          #chart { width: 100%; height: 90px; }
          button { cursor: pointer; }
        </style>
        </head>
        <body>
        <header>
          <h1>PortMapper</h1>
          <span>external address <b id="external">…</b> <span id="reserved"></span> <span id="upstream"></span></span>
          <span>kernel <b id="kernel">…</b></span>
          <span>leases <b id="total">…</b> <span id="counts"></span></span>
          <span>up <b id="uptime">…</b></span>
          <span>events <b id="live">connecting</b></span>
          <span id="error" class="bad"></span>
        </header>
        <div class="layout">
          <main>
            <h2>Devices</h2>
            <div id="devices"><p class="muted">No device has asked for a mapping yet.</p></div>
          </main>
          <aside>
            <h2>Requests per minute, last hour</h2>
            <svg id="chart" viewBox="0 0 600 90" preserveAspectRatio="none" role="img" aria-label="requests per minute"></svg>
            <div class="muted"><span id="chart-total">0</span> requests in the last hour, at most <span id="chart-max">0</span> a minute</div>
            <h2>Recent events</h2>
            <ul id="events"></ul>
          </aside>
        </div>
        <script nonce="{{NONCE}}">
        "use strict";
        const token = document.querySelector('meta[name="portmapper-token"]').content;
        const headers = { "Authorization": "Bearer " + token };
        const svgNs = "http://www.w3.org/2000/svg";
        let leases = [], devices = [], lastEventId = 0, reloadTimer = null, loadedAt = Date.now(), status = null;

        function duration(seconds) {
          if (seconds === null || seconds === undefined) return "permanent";
          seconds = Math.max(0, Math.round(seconds));
          const d = Math.floor(seconds / 86400), h = Math.floor(seconds % 86400 / 3600), m = Math.floor(seconds % 3600 / 60), s = seconds % 60;
          return (d ? d + "d " : "") + (d || h ? h + "h " : "") + (d || h || m ? m + "m " : "") + s + "s";
        }

        function size(bytes) {
          const units = ["B", "KB", "MB", "GB", "TB"];
          let i = 0;
          while (bytes >= 1024 && i < units.length - 1) { bytes /= 1024; i++; }
          return (i ? bytes.toFixed(1) : bytes) + " " + units[i];
        }

        function element(tag, text, cls) {
          const e = document.createElement(tag);
          if (text !== undefined && text !== null) e.textContent = text;
          if (cls) e.className = cls;
          return e;
        }

        function cell(row, text, cls) {
          const td = row.insertCell();
          td.textContent = text;
          if (cls) td.className = cls;
          return td;
        }

        function fail(message) { document.getElementById("error").textContent = message; }

        async function call(method, path, body) {
          const answer = await fetch(path, { method, headers: body ? { ...headers, "Content-Type": "application/json" } : headers, body: body ? JSON.stringify(body) : undefined });
          if (!answer.ok && answer.status !== 404) fail(method + " " + path + " failed: " + answer.status);
          return answer;
        }

        async function revoke(id) { await call("DELETE", "/api/leases/" + id); await reload(); }
        async function setDevice(id, change) { await call("PUT", "/api/devices/" + encodeURIComponent(id), change); await reload(); }

        function renderStatus() {
          if (!status) return;
          document.getElementById("external").textContent = status.externalAddress ?? "none";
          document.getElementById("reserved").textContent = status.externalAddressIsReserved ? "(" + status.externalAddressKind + ")" : "";
          const up = status.upstream;
          document.getElementById("upstream").textContent = up && (up.protocol === "pcp" || up.protocol === "natpmp" || up.protocol === "upnp")
            ? "behind " + up.protocol.toUpperCase() + " gateway " + up.server + ": the Internet sees " + (up.publicAddress ?? "an unknown address") : "";
          document.getElementById("kernel").textContent = status.kernelInSync ? "in sync" : "NOT in sync";
          document.getElementById("kernel").className = status.kernelInSync ? "" : "bad";
          document.getElementById("total").textContent = status.leaseTotal;
          document.getElementById("counts").textContent = "(" + Object.entries(status.leases).filter(e => e[1] > 0).map(e => e[0] + " " + e[1]).join(", ") + ")";
          renderChart(status.requestsPerMinute ?? []);
        }

        function renderChart(perMinute) {
          const chart = document.getElementById("chart");
          chart.replaceChildren();
          const max = Math.max(1, ...perMinute), width = 600 / 60;
          perMinute.forEach((n, i) => {
            const bar = document.createElementNS(svgNs, "rect");
            const h = n === 0 ? 0 : Math.max(2, 86 * n / max);
            bar.setAttribute("x", i * width + 1);
            bar.setAttribute("y", 88 - h);
            bar.setAttribute("width", width - 2);
            bar.setAttribute("height", h);
            bar.setAttribute("fill", i === perMinute.length - 1 ? "#7aa7d8" : "#2f6db3");
            const title = document.createElementNS(svgNs, "title");
            title.textContent = (perMinute.length - 1 - i) + " min ago: " + n;
            bar.appendChild(title);
            chart.appendChild(bar);
          });
          const axis = document.createElementNS(svgNs, "line");
          axis.setAttribute("x1", 0); axis.setAttribute("x2", 600); axis.setAttribute("y1", 88.5); axis.setAttribute("y2", 88.5);
          axis.setAttribute("stroke", "#999");
          chart.appendChild(axis);
          document.getElementById("chart-total").textContent = perMinute.reduce((a, b) => a + b, 0);
          document.getElementById("chart-max").textContent = Math.max(0, ...perMinute);
        }

        function leaseTable(list) {
          const table = element("table");
          const head = table.createTHead().insertRow();
          for (const h of ["proto", "external", "internal", "description", "origin", "time left", "in: packets, bytes", ""]) head.appendChild(element("th", h));
          const body = table.createTBody();
          body.className = "leases";
          for (const lease of list) {
            const row = body.insertRow();
            row.dataset.leaseId = lease.id;
            cell(row, lease.protocol.toUpperCase());
            cell(row, lease.pinhole ? "(pinhole)" : lease.externalPort + (lease.upstream ? " (upstream: " + lease.upstream + ")" : ""), "num");
            cell(row, (lease.pinhole ? "[" + lease.internalAddress + "]" : lease.internalAddress) + ":" + lease.internalPort);
            cell(row, lease.description, "description");
            cell(row, lease.origin);
            const left = cell(row, duration(lease.secondsLeft), "num left");
            left.dataset.secondsLeft = lease.secondsLeft ?? "";
            cell(row, lease.packets === null || lease.packets === undefined ? "—" : lease.packets + ", " + size(lease.bytes), "num traffic");
            const button = element("button", "Revoke");
            button.addEventListener("click", () => revoke(lease.id));
            row.insertCell().appendChild(button);
          }
          return table;
        }

        function toggle(text, checked, onChange) {
          const label = element("label");
          const box = element("input");
          box.type = "checkbox";
          box.setAttribute("role", "switch");
          box.checked = checked;
          box.setAttribute("aria-label", text);
          box.addEventListener("change", () => onChange(box.checked));
          label.append(box, " " + text);
          return label;
        }

        function renderDevices() {
          const container = document.getElementById("devices");
          container.replaceChildren();
          const byDevice = new Map();
          for (const lease of leases) {
            const key = lease.device ?? lease.client;
            if (!byDevice.has(key)) byDevice.set(key, []);
            byDevice.get(key).push(lease);
          }
          const shown = new Set();
          for (const d of devices) {
            shown.add(d.id);
            const section = element("section", null, "device" + (d.permission === "deny" ? " denied" : ""));
            section.dataset.device = d.id;
            const head = element("div", null, "device-head");
            head.append(element("span", d.hostname ?? d.id, "device-name"));
            if (d.hostname) head.append(element("span", d.id, "muted"));
            head.append(element("span", d.addresses.join(" "), "muted addresses"));
            head.append(element("span", d.leases + " lease(s)", "muted"));
            const switches = element("span", null, "switches");
            switches.append(toggle("may map ports", d.permission === "allow", on => setDevice(d.id, { permission: on ? "allow" : "deny" })));
            if (d.mac || /^\d+\.\d+\.\d+\.\d+$/.test(d.id)) switches.append(toggle("Open NAT", d.openNat, on => setDevice(d.id, { openNat: on })));
            head.append(switches);
            section.append(head);
            if (d.openNatMappings && d.openNatMappings.length) {
              section.append(element("div", "Open NAT: " + d.openNatMappings.map(m => "UDP " + m.externalPort + " → " + m.internalPort + " (" + duration(m.expiresIn) + ")").join(", "), "muted opennat"));
            }
            const own = byDevice.get(d.id) ?? [];
            if (own.length) section.append(leaseTable(own));
            container.append(section);
          }
          const others = leases.filter(l => !shown.has(l.device ?? l.client));
          if (others.length) {
            const section = element("section", null, "device");
            section.append(element("div", "Other leases (static, admin)", "device-name"), leaseTable(others));
            container.append(section);
          }
          if (!container.children.length) container.append(element("p", "No device has asked for a mapping yet.", "muted"));
        }

        function describe(e) {
          const who = (e.hostname ? e.hostname + " " : "") + (e.mac ?? e.address ?? "");
          let what = "";
          if (e.protocol) what = e.protocol.toUpperCase() + " " + (e.externalPort ?? "-") + " → " + (e.internalAddress ?? "") + ":" + (e.internalPort ?? "");
          if (e.origin) what += " via " + e.origin;
          if (e.lifetime !== null && e.lifetime !== undefined) what += ", " + duration(e.lifetime);
          if (e.reason) what += (what ? ": " : "") + e.reason;
          return { who, what };
        }

        function addEvent(e, atTop) {
          const list = document.getElementById("events");
          const item = element("li");
          item.dataset.eventId = e.id;
          const { who, what } = describe(e);
          item.append(element("span", new Date(e.time).toLocaleTimeString() + " ", "muted"), element("span", e.kind, "kind " + e.kind), " " + who + " ", element("span", what));
          if (atTop) list.prepend(item); else list.append(item);
          while (list.children.length > 100) list.lastChild.remove();
        }

        async function reload() {
          try {
            const [s, l, d] = await Promise.all([fetch("/api/status", { headers }), fetch("/api/leases", { headers }), fetch("/api/devices", { headers })]);
            if (!s.ok || !l.ok || !d.ok) throw new Error("HTTP " + s.status + "/" + l.status + "/" + d.status);
            status = await s.json(); leases = await l.json(); devices = await d.json();
            loadedAt = Date.now();
            renderStatus();
            renderDevices();
            tick();
            fail("");
          } catch (e) {
            fail("cannot reach the gateway: " + e.message);
          }
        }

        function soon() {
          if (reloadTimer) return;
          reloadTimer = setTimeout(() => { reloadTimer = null; reload(); }, 150);
        }

        // The event stream, read with fetch (EventSource cannot send the token as a header); resumed after the last id.
        async function follow() {
          const live = document.getElementById("live");
          for (;;) {
            try {
              const answer = await fetch("/api/events?since=" + lastEventId, { headers: { ...headers, "Accept": "text/event-stream" } });
              if (!answer.ok) throw new Error("HTTP " + answer.status);
              live.textContent = "live"; live.className = "";
              const reader = answer.body.getReader(), decoder = new TextDecoder();
              let buffer = "";
              for (;;) {
                const { value, done } = await reader.read();
                if (done) break;
                buffer += decoder.decode(value, { stream: true });
                let end;
                while ((end = buffer.indexOf("\n\n")) >= 0) {
                  const message = buffer.slice(0, end);
                  buffer = buffer.slice(end + 2);
                  const data = message.split("\n").filter(line => line.startsWith("data: ")).map(line => line.slice(6)).join("\n");
                  if (!data) continue;
                  const e = JSON.parse(data);
                  if (e.id <= lastEventId) continue;
                  lastEventId = e.id;
                  addEvent(e, true);
                  soon();
                }
              }
            } catch (e) {
              fail("event stream: " + e.message);
            }
            live.textContent = "reconnecting"; live.className = "bad";
            await new Promise(r => setTimeout(r, 2000));
            soon();
          }
        }

        // Between fetches, the clock: uptime and time left count on by themselves.
        function tick() {
          const elapsed = (Date.now() - loadedAt) / 1000;
          if (status) document.getElementById("uptime").textContent = duration(status.uptimeSeconds + elapsed);
          for (const td of document.querySelectorAll("td.left")) {
            if (td.dataset.secondsLeft !== "") td.textContent = duration(Number(td.dataset.secondsLeft) - elapsed);
          }
        }

        async function start() {
          try {
            const answer = await fetch("/api/events?last=100", { headers });
            if (answer.ok) {
              const kept = await answer.json();
              for (const e of kept.slice().reverse()) addEvent(e, false);
              if (kept.length) lastEventId = kept[kept.length - 1].id;
            }
          } catch (e) {
            fail("cannot read the events: " + e.message);
          }
          await reload();
          tick();
          follow();
          setInterval(tick, 1000);
          // The chart counts requests that made no event too (external address queries): once a minute.
          setInterval(reload, 60000);
        }

        start();
        </script>
        </body>
        </html>
        """;
}
