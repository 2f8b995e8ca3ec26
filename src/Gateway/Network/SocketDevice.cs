using System.Net.Sockets;
using System.Text;

namespace PortMapper.Gateway.Network;

/// <summary>SO_BINDTODEVICE: the socket sends and receives through this interface only, whatever the routes say.</summary>
public static class SocketDevice
{
    private const int SolSocket = 1;
    private const int SoBindToDevice = 25;

    public static void BindToDevice(this Socket socket, string interfaceName) =>
        socket.SetRawSocketOption(SolSocket, SoBindToDevice, Encoding.ASCII.GetBytes(interfaceName + "\0"));
}
