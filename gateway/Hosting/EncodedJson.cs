using System.Reflection;
using Microsoft.AspNetCore.Http.Metadata;

namespace OrleansCrm.Gateway.Hosting;

/// <summary>
/// A 200 answer whose JSON body was encoded before it reached the gateway (the customer view, encoded by the customer:
/// <see cref="OrleansCrm.Customers.CustomerViewJson"/>): the bytes are written as they are. The API description shows
/// <typeparamref name="T"/>, the type the bytes encode.
/// </summary>
public sealed class EncodedJson<T>(byte[] utf8) : IResult, IStatusCodeHttpResult, IContentTypeHttpResult, IEndpointMetadataProvider
{
    public int? StatusCode => StatusCodes.Status200OK;

    int? IStatusCodeHttpResult.StatusCode => StatusCode;

    public string ContentType => "application/json; charset=utf-8";

    public Task ExecuteAsync(HttpContext httpContext)
    {
        var response = httpContext.Response;
        response.StatusCode = StatusCodes.Status200OK;
        response.ContentType = ContentType;
        response.ContentLength = utf8.Length;
        return response.Body.WriteAsync(utf8, 0, utf8.Length);
    }

#pragma warning disable CA1000 // IEndpointMetadataProvider's member is static by definition.
    public static void PopulateMetadata(MethodInfo method, EndpointBuilder builder) =>
        builder.Metadata.Add(new ProducesResponseTypeMetadata(StatusCodes.Status200OK, typeof(T), ["application/json"]));
#pragma warning restore CA1000
}
