using System.Net;
using System.Net.ServerSentEvents;
using System.Text;
using System.Text.Json;

namespace OrleansCrm.Tests.Support;

/// <summary>A screen's connection to <c>GET /api/v1/customers/{id}/live</c>: reads server-sent events as a browser's
/// EventSource would, until disposed (which closes the connection).</summary>
public sealed class LiveStream : IAsyncDisposable
{
    private readonly HttpResponseMessage _response;
    private readonly IAsyncEnumerator<SseItem<string>> _events;
    private readonly CancellationTokenSource _closed = new();

    private LiveStream(HttpResponseMessage response, Stream body)
    {
        _response = response;
        _events = SseParser.Create(body).EnumerateAsync(_closed.Token).GetAsyncEnumerator(_closed.Token);
    }

    public string? ContentType => _response.Content.Headers.ContentType?.MediaType;

    public static async Task<LiveStream> OpenAsync(HttpClient http, Uri gateway, string customerId)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, new Uri(gateway, $"/api/v1/customers/{customerId}/live"));
        request.Headers.Accept.ParseAdd("text/event-stream");
        var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return new LiveStream(response, await response.Content.ReadAsStreamAsync());
    }

    /// <summary>The next event of <paramref name="type"/> (others are skipped), within <paramref name="timeout"/>.</summary>
    public async Task<(string Type, JsonElement Data)> NextAsync(string type, TimeSpan timeout)
    {
        var next = Task.Run(async () =>
        {
            while (await _events.MoveNextAsync())
            {
                if (_events.Current.EventType == type)
                {
                    return (_events.Current.EventType, JsonDocument.Parse(_events.Current.Data).RootElement.Clone());
                }
            }

            throw new InvalidOperationException("The live stream ended");
        });
        if (await Task.WhenAny(next, Task.Delay(timeout)) != next)
        {
            throw new TimeoutException($"No '{type}' event within {timeout.TotalSeconds:0} s");
        }

        return await next;
    }

    public async ValueTask DisposeAsync()
    {
        await _closed.CancelAsync();
        _response.Dispose();
        _closed.Dispose();
    }
}
