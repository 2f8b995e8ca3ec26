namespace PortMapper.Gateway.Persistence;

internal enum JournalRecordType : byte
{
    /// <summary>A lease as it now is (added or renewed).</summary>
    Put = 1,

    /// <summary>A lease is gone.</summary>
    Delete = 2,

    /// <summary>The epoch started at this time, for this external address.</summary>
    Epoch = 3,

    /// <summary>Ids below this value have been used.</summary>
    IdFloor = 4,
}
