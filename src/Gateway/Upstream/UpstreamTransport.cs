using System.Net;
using System.Net.Sockets;
using PortMapper.Gateway.Network;

namespace PortMapper.Gateway.Upstream;

/// <summary>Whether a datagram is the answer a request waits for (and, if so, reads it).</summary>
internal delegate bool AnswerMatcher(ReadOnlySpan<byte> datagram);

/// <summary>
/// One UDP socket from the WAN address to the upstream server's port 5351, connected, so only the server's
/// datagrams arrive and an ICMP port unreachable fails the waiting requests at once. Requests are retransmitted
/// on the protocol's schedule until answered or the caller's deadline passes.
/// </summary>
internal sealed class UpstreamTransport : IDisposable
{
    private readonly Socket _socket;
    private readonly Lock _lock = new();
    private readonly List<Waiter> _waiters = [];
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _receiving;

    public UpstreamTransport(string wanInterface, IPAddress local, IPAddress server, int port = Protocols.NatPmp.NatPmpCodec.ServerPort)
    {
        Server = new IPEndPoint(server, port);
        _socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        try
        {
            _socket.BindToDevice(wanInterface);
            _socket.Bind(new IPEndPoint(local, 0));
            _socket.Connect(Server);
        }
        catch
        {
            _socket.Dispose();
            throw;
        }

        _receiving = ReceiveLoopAsync();
    }

    public IPEndPoint Server { get; }

    /// <summary>
    /// Sends <paramref name="request"/> and resends it on the schedule of <paramref name="firstTimeout"/>, doubled each
    /// time with ±10% jitter (RFC 6887 §8.1.1; RFC 6886 §3.1 without the jitter is the same doubling), until
    /// <paramref name="matcher"/> takes an answer or <paramref name="deadline"/> passes. Answered: true; otherwise
    /// false with the reason (no answer, or the server's host refused the port).
    /// </summary>
    public async Task<(bool Answered, string? Failure)> ExchangeAsync(
        byte[] request, AnswerMatcher matcher, TimeSpan firstTimeout, TimeSpan deadline, bool jitter, CancellationToken cancellationToken)
    {
        var waiter = new Waiter(matcher);
        lock (_lock)
        {
            _waiters.Add(waiter);
        }

        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _stop.Token);
            timeout.CancelAfter(deadline);
            TimeSpan wait = firstTimeout;
            while (true)
            {
                try
                {
                    await _socket.SendAsync(request, SocketFlags.None, timeout.Token).ConfigureAwait(false);
                }
                catch (SocketException e) when (e.SocketErrorCode == SocketError.ConnectionRefused)
                {
                    return (false, "port unreachable");
                }
                catch (SocketException e)
                {
                    return (false, e.SocketErrorCode.ToString());
                }
                catch (ObjectDisposedException)
                {
                    return (false, "the upstream was given up"); // a WAN change or a new search closed the socket
                }

                double factor = jitter ? 1 + ((Random.Shared.NextDouble() * 0.2) - 0.1) : 1;
                try
                {
                    string? failure = await waiter.Done.Task.WaitAsync(wait * factor, timeout.Token).ConfigureAwait(false);
                    return (failure is null, failure);
                }
                catch (TimeoutException)
                {
                    wait *= 2;
                }
            }
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return (false, "no answer");
        }
        finally
        {
            lock (_lock)
            {
                _waiters.Remove(waiter);
            }
        }
    }

    private async Task ReceiveLoopAsync()
    {
        byte[] buffer = new byte[1100];
        while (!_stop.IsCancellationRequested)
        {
            int length;
            try
            {
                length = await _socket.ReceiveAsync(buffer, SocketFlags.None, _stop.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
            catch (ObjectDisposedException)
            {
                return;
            }
            catch (SocketException e)
            {
                // ICMP errors of earlier sends (the server's host has nothing on the port): every waiter learns it.
                Fail(e.SocketErrorCode == SocketError.ConnectionRefused ? "port unreachable" : e.SocketErrorCode.ToString());
                continue;
            }

            Deliver(buffer.AsSpan(0, length));
        }
    }

    private void Deliver(ReadOnlySpan<byte> datagram)
    {
        lock (_lock)
        {
            foreach (Waiter waiter in _waiters)
            {
                if (!waiter.Done.Task.IsCompleted && waiter.Matcher(datagram))
                {
                    waiter.Done.TrySetResult(null);
                    return;
                }
            }
        }
    }

    private void Fail(string reason)
    {
        lock (_lock)
        {
            foreach (Waiter waiter in _waiters)
            {
                waiter.Done.TrySetResult(reason);
            }
        }
    }

    public void Dispose()
    {
        _stop.Cancel();
        _socket.Dispose();
        try
        {
            _receiving.Wait(TimeSpan.FromSeconds(1));
        }
        catch (AggregateException)
        {
        }

        // _stop is not disposed: exchanges still running read its token (it holds no timer, so nothing leaks).
    }

    private sealed class Waiter(AnswerMatcher matcher)
    {
        public AnswerMatcher Matcher { get; } = matcher;

        /// <summary>Null when answered; the reason when the exchange failed.</summary>
        public TaskCompletionSource<string?> Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}
