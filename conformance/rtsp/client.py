#!/usr/bin/env python3
"""An RTSP client (GStreamer's rtspsrc) that pulls a stream over UDP for a while and counts the RTP packets it got.

usage: client.py URL SECONDS [PORT_RANGE]
rtspsrc runs with nat-method=none: it sends nothing to the server's media ports, so nothing but the gateway
can let the media in. Prints "buffers N" and exits 0 when at least one buffer arrived, 1 otherwise.
"""
import sys

import gi

gi.require_version("Gst", "1.0")
from gi.repository import GLib, Gst  # noqa: E402


def main() -> int:
    url, seconds = sys.argv[1], float(sys.argv[2])
    port_range = sys.argv[3] if len(sys.argv) > 3 else None
    Gst.init(None)
    pipeline = Gst.Pipeline.new("client")
    source = Gst.ElementFactory.make("rtspsrc")
    source.set_property("location", url)
    source.set_property("protocols", "udp")
    source.set_property("nat-method", "none")
    source.set_property("latency", 0)
    source.set_property("udp-reconnect", False)
    if port_range:
        source.set_property("port-range", port_range)
    sink = Gst.ElementFactory.make("fakesink")
    sink.set_property("signal-handoffs", True)
    sink.set_property("sync", False)
    pipeline.add(source)
    pipeline.add(sink)
    count = [0]
    sink.connect("handoff", lambda *_: count.__setitem__(0, count[0] + 1))

    def on_pad(_, pad):
        pad.link(sink.get_static_pad("sink"))

    source.connect("pad-added", on_pad)
    loop = GLib.MainLoop()
    errors = []

    def on_message(_, message):
        if message.type == Gst.MessageType.ERROR:
            errors.append(message.parse_error()[0].message)
            loop.quit()
        elif message.type == Gst.MessageType.EOS:
            loop.quit()

    bus = pipeline.get_bus()
    bus.add_signal_watch()
    bus.connect("message", on_message)
    pipeline.set_state(Gst.State.PLAYING)
    GLib.timeout_add(int(seconds * 1000), loop.quit)
    loop.run()
    # A clean stop sends TEARDOWN and closes the control connection.
    pipeline.send_event(Gst.Event.new_eos())
    pipeline.set_state(Gst.State.NULL)
    for error in errors:
        print("error", error, flush=True)
    print("buffers", count[0], flush=True)
    return 0 if count[0] > 0 else 1


if __name__ == "__main__":
    sys.exit(main())
