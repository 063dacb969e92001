namespace Automator.Delivery;

/// <summary>Counts events over the last minute in one-second buckets (sentLastMinute, errorsLastMinute).</summary>
public sealed class SlidingCounter(TimeProvider time)
{
    private const int Buckets = 60;
    private readonly long[] _counts = new long[Buckets];
    private readonly long[] _seconds = new long[Buckets];

    public void Add(long count = 1)
    {
        if (count == 0)
        {
            return;
        }

        var second = time.GetUtcNow().ToUnixTimeSeconds();
        var index = (int)(second % Buckets);
        if (_seconds[index] != second)
        {
            _seconds[index] = second;
            _counts[index] = 0;
        }

        _counts[index] += count;
    }

    public long LastMinute
    {
        get
        {
            var now = time.GetUtcNow().ToUnixTimeSeconds();
            long total = 0;
            for (var i = 0; i < Buckets; i++)
            {
                if (now - _seconds[i] < Buckets)
                {
                    total += _counts[i];
                }
            }

            return total;
        }
    }
}
