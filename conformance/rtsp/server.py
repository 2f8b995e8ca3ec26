#!/usr/bin/env python3
"""An RTSP server (GStreamer's gst-rtsp-server) for the lab: one live audio stream at rtsp://ADDRESS:PORT/test.

usage: server.py ADDRESS PORT
It prints "ready" once it listens and serves until killed.
"""
import sys

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstRtspServer", "1.0")
from gi.repository import GLib, Gst, GstRtspServer  # noqa: E402


def main() -> int:
    address, port = sys.argv[1], sys.argv[2]
    Gst.init(None)
    server = GstRtspServer.RTSPServer()
    server.set_address(address)
    server.set_service(port)
    factory = GstRtspServer.RTSPMediaFactory()
    # 8 kHz mono L16 in 20 ms packets: 50 RTP packets a second, light enough for a test.
    factory.set_launch("( audiotestsrc is-live=true samplesperbuffer=160 ! audio/x-raw,format=S16BE,rate=8000,channels=1 "
                       "! rtpL16pay name=pay0 pt=96 )")
    factory.set_shared(True)
    server.get_mount_points().add_factory("/test", factory)
    if server.attach(None) == 0:
        print("cannot listen", flush=True)
        return 1
    print("ready", flush=True)
    GLib.MainLoop().run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
