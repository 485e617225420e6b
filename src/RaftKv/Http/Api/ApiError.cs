using Microsoft.AspNetCore.Http;

namespace RaftKv.Http.Api;

/// <summary>The body of every 4xx/5xx answer of the HTTP API: <c>{"error": "..."}</c>.</summary>
/// <param name="Error">What went wrong, for a person.</param>
public sealed record ApiError(string Error)
{
    /// <summary>A JSON error reply.</summary>
    public static IResult Reply(int status, string message) => Results.Json(new ApiError(message), statusCode: status);
}
