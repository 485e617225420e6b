using System.Text;

namespace RaftKv.Server.Http2;

/// <summary>
/// Turns an <c>:authority</c> (or <c>host</c>) value that grpc-go sends and etcd ignores into one that Kestrel's host
/// validation accepts: <c>http://127.0.0.1:2379</c> (etcdctl's passthrough target for an http:// endpoint) becomes
/// <c>127.0.0.1:2379</c>.
/// </summary>
/// <remarks>
/// <see cref="IsPlainAuthority"/> is deliberately narrower than Kestrel's rule: a value it refuses but Kestrel would
/// accept is rewritten needlessly (harmless: nothing in raftkv reads the authority), never the other way round for the
/// values it produces.
/// </remarks>
internal static class AuthorityNormalizer
{
    private const int PortDigitsMax = 5;

    /// <summary>Empty, or host[:port] with host an unreserved reg-name / IPv4 address (RFC 3986 3.2.2) or a bracketed IPv6 literal.</summary>
    public static bool IsPlainAuthority(ReadOnlySpan<byte> value)
    {
        if (value.IsEmpty) return true;
        int hostEnd;
        if (value[0] == (byte)'[')
        {
            hostEnd = value.IndexOf((byte)']') + 1;
            if (hostEnd < 3) return false;
            foreach (var c in value[1..(hostEnd - 1)])
            {
                if (!(char.IsAsciiHexDigit((char)c) || c is (byte)':' or (byte)'.')) return false;
            }
        }
        else
        {
            hostEnd = value.IndexOf((byte)':');
            if (hostEnd < 0) hostEnd = value.Length;
            if (hostEnd == 0) return false;
            foreach (var c in value[..hostEnd])
            {
                if (!(char.IsAsciiLetterOrDigit((char)c) || c is (byte)'-' or (byte)'.' or (byte)'_' or (byte)'~')) return false;
            }
        }
        if (hostEnd == value.Length) return true;
        if (value[hostEnd] != (byte)':') return false;
        var port = value[(hostEnd + 1)..];
        if (port.IsEmpty || port.Length > PortDigitsMax) return false;
        foreach (var c in port)
        {
            if (!char.IsAsciiDigit((char)c)) return false;
        }
        return true;
    }

    /// <summary>
    /// The authority part of a URI-like value (scheme, userinfo, path, query and fragment dropped) when that is plain;
    /// otherwise <paramref name="fallback"/> (the address the client connected to).
    /// </summary>
    public static byte[] Normalize(ReadOnlySpan<byte> value, string fallback)
    {
        var rest = value;
        var schemeEnd = rest.IndexOf("://"u8);
        if (schemeEnd >= 0) rest = rest[(schemeEnd + 3)..];
        var pathStart = rest.IndexOfAny("/?#"u8);
        if (pathStart >= 0) rest = rest[..pathStart];
        var userinfoEnd = rest.LastIndexOf((byte)'@');
        if (userinfoEnd >= 0) rest = rest[(userinfoEnd + 1)..];
        return !rest.IsEmpty && IsPlainAuthority(rest) ? rest.ToArray() : Encoding.ASCII.GetBytes(fallback);
    }
}
