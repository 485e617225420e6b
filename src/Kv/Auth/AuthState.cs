using Google.Protobuf;
using RaftKv.Etcd.Api.Authpb;

namespace RaftKv.Kv.Auth;

/// <summary>
/// The replicated auth state as of one applied entry, decoded from the store's auth record: whether auth is on, its
/// revision, users (with password hashes) and roles (with key-range permissions). Immutable: a change builds a new
/// record (see <see cref="AuthApplier"/>), so readers on any thread may share one instance.
/// </summary>
public sealed class AuthState
{
    /// <summary>The name of the user and of the role that may do everything (etcd's "root").</summary>
    public const string Root = "root";

    private readonly Dictionary<string, User> users;
    private readonly Dictionary<string, Role> roles;

    private AuthState(AuthRecord record)
    {
        Record = record;
        users = record.Users.ToDictionary(u => u.Name.ToStringUtf8(), StringComparer.Ordinal);
        roles = record.Roles.ToDictionary(r => r.Name.ToStringUtf8(), StringComparer.Ordinal);
    }

    /// <summary>No users, no roles, auth off, revision 0: a store where auth was never configured.</summary>
    public static AuthState Empty { get; } = new(new AuthRecord());

    /// <summary>Whether auth is enabled.</summary>
    public bool Enabled => Record.Enabled;

    /// <summary>etcd's auth revision.</summary>
    public ulong Revision => Record.Revision;

    /// <summary>The record this state was decoded from; do not change it.</summary>
    internal AuthRecord Record { get; }

    /// <summary>User names in order.</summary>
    public IEnumerable<string> UserNames => Record.Users.Select(u => u.Name.ToStringUtf8());

    /// <summary>Role names in order.</summary>
    public IEnumerable<string> RoleNames => Record.Roles.Select(r => r.Name.ToStringUtf8());

    /// <summary>Decodes an auth record; empty bytes are <see cref="Empty"/>.</summary>
    /// <exception cref="InvalidDataException">When the bytes are not an auth record (the store wrote them itself, so the state is damaged).</exception>
    public static AuthState Decode(ReadOnlySpan<byte> record)
    {
        if (record.IsEmpty)
        {
            return Empty;
        }

        try
        {
            return new AuthState(AuthRecord.Parser.ParseFrom(record));
        }
        catch (Exception e) when (e is InvalidProtocolBufferException or ArgumentException)
        {
            throw new InvalidDataException($"the auth record does not parse: {e.Message}", e);
        }
    }

    /// <summary>A state over <paramref name="record"/>, which the caller hands over and never changes again.</summary>
    internal static AuthState Of(AuthRecord record) => new(record);

    /// <summary>The user named <paramref name="name"/>; null when there is none.</summary>
    public User? FindUser(string name) => users.GetValueOrDefault(name);

    /// <summary>The role named <paramref name="name"/>; null when there is none.</summary>
    public Role? FindRole(string name) => roles.GetValueOrDefault(name);

    /// <summary>Whether <paramref name="user"/> exists and has the root role.</summary>
    public bool IsRoot(string user) => FindUser(user) is { } u && u.Roles.Contains(Root);

    /// <summary>
    /// Whether <paramref name="user"/> may access every key of [<paramref name="key"/>, <paramref name="rangeEnd"/>)
    /// (etcd's conventions: empty end is the key alone, "\0" is no upper bound) with <paramref name="access"/> (READ
    /// or WRITE): root may do everything; otherwise the union of the matching permissions of the user's roles must
    /// cover the whole range, as etcd's range permission cache checks it.
    /// </summary>
    public bool IsPermitted(string user, ByteString key, ByteString rangeEnd, Permission.Types.Type access)
    {
        ArgumentNullException.ThrowIfNull(key);
        ArgumentNullException.ThrowIfNull(rangeEnd);
        var found = FindUser(user);
        if (found is null)
        {
            return false;
        }

        if (found.Roles.Contains(Root))
        {
            return true;
        }

        var granted = new List<KeyInterval>();
        foreach (var roleName in found.Roles)
        {
            if (FindRole(roleName) is not { } role)
            {
                continue;
            }

            foreach (var permission in role.KeyPermission)
            {
                if (permission.PermType == Permission.Types.Type.Readwrite || permission.PermType == access)
                {
                    granted.Add(KeyInterval.Of(permission.Key, permission.RangeEnd));
                }
            }
        }

        return KeyInterval.Covers(granted, KeyInterval.Of(key, rangeEnd));
    }
}
