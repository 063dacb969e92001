namespace Automator.Journeys;

/// <summary>
/// When a persisted webhook call is attempted again: <c>base × 4^(attempts − 1)</c> after the latest attempt (1 min,
/// 4 min, 16 min, ~1 h, ~4 h with the default base), and never after <c>maxAttempts</c>. The retry time is written
/// before each attempt, so an attempt lost with its silo is made again by whichever silo wakes the journey.
/// </summary>
public static class WebhookRetry
{
    /// <returns>The time to try again if attempt number <paramref name="attempts"/> does not succeed; null to give up.</returns>
    public static DateTimeOffset? After(int attempts, DateTimeOffset attemptedAt, TimeSpan baseDelay, int maxAttempts)
    {
        if (attempts >= maxAttempts)
        {
            return null;
        }

        var factor = Math.Pow(4, Math.Clamp(attempts - 1, 0, 10));
        return attemptedAt + TimeSpan.FromTicks((long)Math.Min(baseDelay.Ticks * factor, TimeSpan.FromDays(1).Ticks));
    }
}
