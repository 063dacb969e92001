namespace Automator.WebApi.Engagement;

/// <summary>
/// A contact's engagement score, 0-100: every human open adds 1 and every click 3 to a raw sum that halves every 30
/// days, and the score is <c>round(100 * (1 - e^(-sum / 10)))</c>, so one open scores 10, one click 26, a handful of
/// recent clicks approaches 100, and a contact who stops engaging drifts back to 0. The database function
/// <c>engagement_score(raw, at)</c> computes the same as of the moment it is read.
/// </summary>
public static class EngagementScore
{
    public const double OpenWeight = 1;
    public const double ClickWeight = 3;
    public const double Scale = 10;
    public static readonly TimeSpan HalfLife = TimeSpan.FromDays(30);

    /// <summary>The raw sum as of <paramref name="now"/>, given its value at <paramref name="at"/>.</summary>
    public static double Decay(double raw, DateTimeOffset? at, DateTimeOffset now) =>
        at is null || raw <= 0 ? 0 : raw * Math.Pow(0.5, Math.Max((now - at.Value).TotalSeconds, 0) / HalfLife.TotalSeconds);

    public static double Add(double raw, DateTimeOffset? at, DateTimeOffset now, double weight) => Decay(raw, at, now) + weight;

    public static int Score(double raw, DateTimeOffset? at, DateTimeOffset now)
    {
        var decayed = Decay(raw, at, now);
        return decayed <= 0 ? 0 : (int)Math.Round(100 * (1 - Math.Exp(-decayed / Scale)), MidpointRounding.AwayFromZero);
    }
}
