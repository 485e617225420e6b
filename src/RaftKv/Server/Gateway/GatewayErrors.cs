using System.Text.Json;
using Grpc.Core;
using Microsoft.AspNetCore.Http;

namespace RaftKv.Server.Gateway;

/// <summary>How etcd's gateway (grpc-gateway v1) turns a gRPC status into HTTP: the status code and the JSON bodies.</summary>
internal static class GatewayErrors
{
    private static readonly JsonWriterOptions WriterOptions = new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>The HTTP status for a gRPC code, as etcd 3.4's gateway answers (FailedPrecondition is 412 there).</summary>
    public static int HttpStatus(StatusCode code) => code switch
    {
        StatusCode.OK => StatusCodes.Status200OK,
        StatusCode.Cancelled => StatusCodes.Status408RequestTimeout,
        StatusCode.InvalidArgument or StatusCode.OutOfRange => StatusCodes.Status400BadRequest,
        StatusCode.DeadlineExceeded => StatusCodes.Status504GatewayTimeout,
        StatusCode.NotFound => StatusCodes.Status404NotFound,
        StatusCode.AlreadyExists or StatusCode.Aborted => StatusCodes.Status409Conflict,
        StatusCode.PermissionDenied => StatusCodes.Status403Forbidden,
        StatusCode.Unauthenticated => StatusCodes.Status401Unauthorized,
        StatusCode.ResourceExhausted => StatusCodes.Status429TooManyRequests,
        StatusCode.FailedPrecondition => StatusCodes.Status412PreconditionFailed,
        StatusCode.Unimplemented => StatusCodes.Status501NotImplemented,
        StatusCode.Unavailable => StatusCodes.Status503ServiceUnavailable,
        _ => StatusCodes.Status500InternalServerError,
    };

    /// <summary>The body of a failed unary call: <c>{"error": m, "message": m, "code": c}</c>.</summary>
    public static byte[] UnaryBody(StatusCode code, string message)
    {
        using var stream = new MemoryStream();
        using (var json = new Utf8JsonWriter(stream, WriterOptions))
        {
            json.WriteStartObject();
            json.WriteString("error", message);
            json.WriteString("message", message);
            json.WriteNumber("code", (int)code);
            json.WriteEndObject();
        }
        return stream.ToArray();
    }

    /// <summary>The line a stream ends with when its call fails: <c>{"error": {"grpc_code", "http_code", "message", "http_status"}}</c>.</summary>
    public static byte[] StreamLine(StatusCode code, string message)
    {
        var http = HttpStatus(code);
        using var stream = new MemoryStream();
        using (var json = new Utf8JsonWriter(stream, WriterOptions))
        {
            json.WriteStartObject();
            json.WriteStartObject("error");
            json.WriteNumber("grpc_code", (int)code);
            json.WriteNumber("http_code", http);
            json.WriteString("message", message);
            json.WriteString("http_status", ReasonPhrase(http));
            json.WriteEndObject();
            json.WriteEndObject();
        }
        stream.WriteByte((byte)'\n');
        return stream.ToArray();
    }

    private static string ReasonPhrase(int status) =>
        Microsoft.AspNetCore.WebUtilities.ReasonPhrases.GetReasonPhrase(status) is { Length: > 0 } phrase ? phrase : "Unknown";
}
