namespace PortMapper.Protocols.NatPmp;

public enum NatPmpAction : byte
{
    /// <summary>Send nothing (the datagram is not a request the server may answer).</summary>
    Drop,

    /// <summary>Send the reply already written.</summary>
    Reply,

    /// <summary>Run the command against the lease table, then call <see cref="NatPmpHandler.Complete"/>.</summary>
    Execute,
}
