namespace Automator.Bench;

/// <summary>Keys the benchmark hosts run with, so that they pay the same costs as production (encrypted contact fields).</summary>
internal static class BenchKeys
{
    public const string ContactFields = "e2Gd2kELGtgfnU7YLM9qHEhAkIS+kBdo57gNQiQ7tnQ=";
}
