namespace RaftKv.Raft.Hosting.InMemory;

public sealed partial class InMemoryNetwork
{
    private sealed partial class Transport
    {
        /// <summary>On the sender's loop: delivers a snapshot now (data inline) or starts copying its payload.</summary>
        private void SendSnapshot(IRaftInbox own, Message message, bool lost)
        {
            if (lost || !network._nodes.TryGetValue(message.To, out var target) || target.Inbox is not { } inbox)
            {
                own.ReportSnapshot(message.To, delivered: false);
                return;
            }
            if (payloads is null && target.Payloads is null)
            {
                own.ReportSnapshot(message.To, inbox.TryDeliver(message));
                return;
            }
            // Payloads on one side only: neither could read the other's snapshot. A busy receiver: refused, not queued.
            if (payloads is null || target.Payloads is null || !target._acceptGate.Wait(0))
            {
                own.ReportSnapshot(message.To, delivered: false);
                return;
            }
            var copy = Task.Run(() => CopyPayload(message, target));
            _copies.TryAdd(copy, 0);
            target._copies.TryAdd(copy, 0);
            copy.ContinueWith(t =>
            {
                _copies.TryRemove(t, out _);
                target._copies.TryRemove(t, out _);
            }, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        }

        /// <summary>Off the loops: streams the payload into the receiver, delivers the message, reports the outcome.</summary>
        private void CopyPayload(Message message, Transport target)
        {
            var delivered = false;
            try
            {
                using var stop = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token, target._stop.Token);
                var snapshot = message.Snapshot!;
                ReadOnlyMemory<byte> descriptor;
                using (var payload = payloads!.OpenPayload(snapshot))
                {
                    descriptor = target.Payloads!.AcceptPayload(snapshot.Metadata, payload, stop.Token);
                }
                delivered = !stop.IsCancellationRequested && target.Inbox?.TryDeliver(WithSnapshotData(message, descriptor)) == true;
            }
            catch (Exception)
            {
                // Any failure of either state machine, or a cancellation, fails this transfer only: Raft sends again.
            }
            finally
            {
                target._acceptGate.Release();
            }
            _inbox?.ReportSnapshot(message.To, delivered);
        }

        private static Message WithSnapshotData(Message m, ReadOnlyMemory<byte> data) => new()
        {
            Type = m.Type, From = m.From, To = m.To, Term = m.Term, LogTerm = m.LogTerm, Index = m.Index, Entries = m.Entries,
            Commit = m.Commit, Reject = m.Reject, RejectHint = m.RejectHint, Context = m.Context,
            Snapshot = m.Snapshot! with { Data = data },
        };
    }
}
