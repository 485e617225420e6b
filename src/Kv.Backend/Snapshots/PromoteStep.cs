namespace RaftKv.Kv.Backend.Snapshots;

/// <summary>
/// The points of <see cref="StateDirectory.Promote"/> a crash test stops at (<see cref="StateDirectory.StepReached"/>),
/// in order. Before <see cref="PointerRenamed"/> a restart finds the old backend; from it on, the new one.
/// </summary>
internal enum PromoteStep
{
    /// <summary>The staging directory was checked to be a complete backend and fsynced.</summary>
    StagingVerified,

    /// <summary>The staging directory was renamed to its backend name and the root fsynced.</summary>
    StagingRenamed,

    /// <summary>The new pointer was written to <c>CURRENT.tmp</c> and fsynced; <c>CURRENT</c> still names the old backend.</summary>
    PointerTempWritten,

    /// <summary>The pointer was renamed over <c>CURRENT</c> and the root fsynced: the switch is done.</summary>
    PointerRenamed,
}
