using System.Runtime.CompilerServices;
using OrleansCrm.Client.Generated.Models;

namespace OrleansCrm.Client;

public sealed partial class CrmClient
{
    /// <summary>
    /// Reads the action feed (<c>GET /api/v1/actions</c>) page by page from the cursor <paramref name="after"/> (null:
    /// from the start), passing each page's <c>next</c> back as the following page's cursor. Without
    /// <paramref name="follow"/> it ends at the first empty page (caught up); with it, it asks again every
    /// <paramref name="pollInterval"/> (default 5 s; each read is an audited read of personal data) until cancelled. Store a page's <c>Next</c> once its actions are
    /// handled: reading on from it neither skips nor repeats an action.
    /// </summary>
    public async IAsyncEnumerable<ActionPage> ReadActionPagesAsync(
        string? after = null, string? campaignId = null, int limit = 100, bool follow = false, TimeSpan? pollInterval = null,
        [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var cursor = after;
        while (true)
        {
            var page = await V1.Actions.GetAsync(c =>
            {
                c.QueryParameters.After = cursor;
                c.QueryParameters.CampaignId = campaignId;
                c.QueryParameters.Limit = limit;
            }, cancellationToken).ConfigureAwait(false);
            if (page?.Actions is { Count: > 0 })
            {
                // A page of actions always moves the cursor on; one that does not would read the same page forever.
                if (page.Next is null || page.Next == cursor)
                {
                    throw new InvalidOperationException($"the feed answered a page of actions without moving its cursor past '{cursor}'");
                }

                yield return page;
                cursor = page.Next;
                continue;
            }

            if (!follow)
            {
                yield break;
            }

            cursor = page?.Next ?? cursor;
            await Task.Delay(pollInterval ?? TimeSpan.FromSeconds(5), cancellationToken).ConfigureAwait(false);
        }
    }
}
