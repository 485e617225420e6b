using Google.Protobuf.Reflection;

namespace RaftKv.Kv.Tests;

/// <summary>
/// Our .proto files against the etcd descriptors compiled into the dotnet-etcd client (from etcd's own files):
/// every service, method, message, field number, type and label must agree, so the bytes on the wire do.
/// </summary>
public sealed class WireCompatibilityTests
{
    // etcd messages we deliberately leave out: a test-only request from etcd v3.6 (no RPC uses it).
    private static readonly HashSet<string> NotCarried = ["etcdserverpb.DowngradeVersionTestRequest"];

    public static TheoryData<string> Files() => new() { "etcdserverpb", "mvccpb", "authpb" };

    private static FileDescriptor Ours(string package) => package switch
    {
        "etcdserverpb" => RaftKv.Etcd.Api.RpcReflection.Descriptor,
        "mvccpb" => RaftKv.Etcd.Api.Mvccpb.KvReflection.Descriptor,
        _ => RaftKv.Etcd.Api.Authpb.AuthReflection.Descriptor,
    };

    private static FileDescriptor Theirs(string package) => package switch
    {
        "etcdserverpb" => Etcdserverpb.RpcReflection.Descriptor,
        "mvccpb" => Mvccpb.KvReflection.Descriptor,
        _ => Authpb.AuthReflection.Descriptor,
    };

    [Theory]
    [MemberData(nameof(Files))]
    public void MessagesAndFieldsMatchEtcd(string package)
    {
        var ours = AllMessages(Ours(package)).ToDictionary(m => m.FullName);
        var theirs = AllMessages(Theirs(package)).Where(m => !NotCarried.Contains(m.FullName)).ToList();
        Assert.NotEmpty(theirs);
        foreach (var message in theirs)
        {
            Assert.True(ours.TryGetValue(message.FullName, out var mine), $"missing message {message.FullName}");
            Assert.Equal(Describe(message), Describe(mine!));
        }

        Assert.Equal(theirs.Count, ours.Count);
    }

    [Theory]
    [MemberData(nameof(Files))]
    public void EnumsMatchEtcd(string package)
    {
        var ours = AllEnums(Ours(package)).ToDictionary(e => e.FullName, e => string.Join(",", e.Values.Select(v => $"{v.Name}={v.Number}")));
        var theirs = AllEnums(Theirs(package)).ToDictionary(e => e.FullName, e => string.Join(",", e.Values.Select(v => $"{v.Name}={v.Number}")));
        Assert.Equal(theirs.OrderBy(p => p.Key), ours.OrderBy(p => p.Key));
    }

    [Fact]
    public void ServicesAndMethodsMatchEtcd()
    {
        static IEnumerable<string> Methods(FileDescriptor file) => file.Services
            .SelectMany(s => s.Methods.Select(m =>
                $"/{s.FullName}/{m.Name}({(m.IsClientStreaming ? "stream " : "")}{m.InputType.FullName}) -> {(m.IsServerStreaming ? "stream " : "")}{m.OutputType.FullName}"))
            .Order();

        var theirs = Methods(Theirs("etcdserverpb")).ToList();
        Assert.Equal(theirs, Methods(Ours("etcdserverpb")));
        Assert.Contains("/etcdserverpb.KV/Range(etcdserverpb.RangeRequest) -> etcdserverpb.RangeResponse", theirs);
        Assert.Contains("/etcdserverpb.Watch/Watch(stream etcdserverpb.WatchRequest) -> stream etcdserverpb.WatchResponse", theirs);
    }

    private static IEnumerable<MessageDescriptor> AllMessages(FileDescriptor file) =>
        file.MessageTypes.SelectMany(Flatten);

    private static IEnumerable<MessageDescriptor> Flatten(MessageDescriptor message) =>
        new[] { message }.Concat(message.NestedTypes.SelectMany(Flatten));

    private static IEnumerable<EnumDescriptor> AllEnums(FileDescriptor file) =>
        file.EnumTypes.Concat(AllMessages(file).SelectMany(m => m.EnumTypes));

    private static string Describe(MessageDescriptor message) => string.Join(
        "\n",
        message.Fields.InFieldNumberOrder().Select(f =>
            $"{f.FieldNumber} {f.Name} {f.FieldType} {(f.IsRepeated ? "repeated" : "single")} "
            + $"{TypeName(f)} {f.RealContainingOneof?.Name ?? "-"}"));

    private static string TypeName(FieldDescriptor field) => field.FieldType switch
    {
        FieldType.Message or FieldType.Group => field.MessageType.FullName,
        FieldType.Enum => field.EnumType.FullName,
        _ => "-",
    };
}
