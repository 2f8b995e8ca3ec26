namespace PortMapper.Protocols.Mapping;

public enum MappingCommandKind : byte
{
    /// <summary>Create or renew one mapping.</summary>
    Map,

    /// <summary>Delete the client's mapping of one internal port.</summary>
    Delete,

    /// <summary>Delete every mapping of one protocol that the client created through this front end.</summary>
    DeleteAll,

    /// <summary>Create or renew the outbound mapping from one internal endpoint to one remote peer.</summary>
    Peer,
}
