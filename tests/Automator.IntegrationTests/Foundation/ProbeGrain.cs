namespace Automator.IntegrationTests.Foundation;

public interface IProbeGrain : IGrainWithStringKey
{
    Task<int> IncrementAsync();

    Task<ProbeSnapshot> GetAsync();

    Task ScheduleAsync(TimeSpan dueTime);
}

[GenerateSerializer, Alias("probe.snapshot")]
public sealed class ProbeSnapshot
{
    [Id(0)] public int Counter { get; set; }
    [Id(1)] public int ReminderTicks { get; set; }
    [Id(2)] public string ActivationId { get; set; } = "";
}

[GenerateSerializer, Alias("probe.state")]
public sealed class ProbeState
{
    [Id(0)] public int Counter { get; set; }
    [Id(1)] public int ReminderTicks { get; set; }
}

/// <summary>A grain used only by the foundation tests: persisted counter, reminder ticks, activation identity.</summary>
public sealed class ProbeGrain([PersistentState("probe")] IPersistentState<ProbeState> state) : Grain, IProbeGrain, IRemindable
{
    private readonly string _activationId = Guid.NewGuid().ToString("N");

    public async Task<int> IncrementAsync()
    {
        state.State.Counter++;
        await state.WriteStateAsync();
        return state.State.Counter;
    }

    public Task<ProbeSnapshot> GetAsync() => Task.FromResult(new ProbeSnapshot
    {
        Counter = state.State.Counter,
        ReminderTicks = state.State.ReminderTicks,
        ActivationId = _activationId,
    });

    public async Task ScheduleAsync(TimeSpan dueTime) =>
        await this.RegisterOrUpdateReminder("probe", dueTime, TimeSpan.FromMinutes(1));

    public async Task ReceiveReminder(string reminderName, TickStatus status)
    {
        await state.ReadStateAsync();
        state.State.ReminderTicks++;
        await state.WriteStateAsync();
    }
}
