using System.Text.Json.Nodes;
using Automator.Delivery;
using Automator.Delivery.SendLog;
using Automator.Journeys;
using Automator.UnitTests.Journeys;
using Automator.Workflows;
using CsCheck;

namespace Automator.UnitTests.Properties;

/// <summary>
/// The journey planner over generated workflows (send, delay, wait-for-event and split steps, any forward graph) driven by
/// generated interleavings of wakes (early, late, repeated), events and re-entries; and the send log fed with every send
/// the planner asks for plus the re-issues and duplicate dispatches a grain and a worker make.
/// </summary>
public sealed class JourneyProperties
{
    private static readonly DateTimeOffset Start = new(2026, 11, 23, 10, 0, 0, TimeSpan.Zero);
    private static readonly string[] Events = ["e1", "e2"];

    /// <summary>Step i of a generated workflow: its kind and numbers that pick durations and forward targets.</summary>
    private sealed record StepSpec(int Kind, int Hours, int Jump);

    /// <summary>0: wake at a time, 1: event, 2: enter again, 3: re-issue a pending send, 4: a worker dispatches a send again.</summary>
    private sealed record Stimulus(int Kind, int Minutes, int Pick);

    private static readonly Gen<StepSpec[]> StepsGen = Gen.Select(Gen.Int[0, 3], Gen.Int[1, 72], Gen.Int[1, 4], (k, h, j) => new StepSpec(k, h, j)).Array[1, 8];

    private static readonly Gen<Stimulus[]> StimuliGen = Gen.Select(
        Gen.Frequency((5, Gen.Const(0)), (3, Gen.Const(1)), (1, Gen.Const(2)), (2, Gen.Const(3)), (2, Gen.Const(4))),
        Gen.Frequency((3, Gen.Int[0, 10]), (3, Gen.Int[0, 600]), (2, Gen.Int[0, 5_000])),
        Gen.Int[0, 100],
        (k, m, p) => new Stimulus(k, m, p)).Array[1, 40];

    private static readonly Gen<(StepSpec[] Steps, bool Reenter, Stimulus[] Stimuli)> ScenarioGen =
        Gen.Select(StepsGen, Gen.Bool, StimuliGen);

    private static WorkflowDefinition Workflow(StepSpec[] specs, bool reenter)
    {
        string Id(int i) => $"s{i}";
        JsonNode? Next(int i, int jump) => i + jump < specs.Length ? Id(i + jump) : null;
        var steps = new JsonArray();
        for (var i = 0; i < specs.Length; i++)
        {
            var spec = specs[i];
            // Every step's "next" is the following one, so every step is reachable; other targets only jump forward.
            steps.Add(spec.Kind switch
            {
                0 => new JsonObject { ["id"] = Id(i), ["type"] = "send", ["templateId"] = $"tpl_{i}", ["next"] = Next(i, 1) },
                1 => new JsonObject { ["id"] = Id(i), ["type"] = "delay", ["duration"] = $"PT{spec.Hours}H", ["next"] = Next(i, 1) },
                2 => new JsonObject
                {
                    ["id"] = Id(i), ["type"] = "waitForEvent", ["event"] = Events[spec.Hours % 2], ["timeout"] = $"PT{spec.Hours}H",
                    ["next"] = Next(i, 1), ["onTimeout"] = Next(i, spec.Jump),
                },
                _ => new JsonObject
                {
                    ["id"] = Id(i), ["type"] = "split",
                    ["branches"] = new JsonArray(new JsonObject { ["weight"] = 50, ["next"] = Next(i, 1) }, new JsonObject { ["weight"] = 50, ["next"] = Next(i, spec.Jump) }),
                },
            });
        }

        return PlannerHarness.Workflow(steps.ToJsonString(), reenter ? """{ "reentry": "always" }""" : "{}", start: Id(0));
    }

    private static string Print((StepSpec[] Steps, bool Reenter, Stimulus[] Stimuli) s) =>
        $"steps [{string.Join(", ", s.Steps.Select(x => $"{x.Kind}/{x.Hours}h/+{x.Jump}"))}], reentry {s.Reenter}, stimuli [{string.Join(", ", s.Stimuli.Select(x => $"{x.Kind}@+{x.Minutes}m#{x.Pick}"))}]";

    [Fact]
    public void A_plan_stays_in_the_workflow_moves_forward_in_time_and_sends_each_step_once_per_entry()
    {
        ScenarioGen.Sample(s =>
        {
            var definition = Workflow(s.Steps, s.Reenter);
            var stepIds = s.Steps.Select((_, i) => $"s{i}").ToHashSet();
            var sendSteps = s.Steps.Select((x, i) => (x, i)).Where(t => t.x.Kind == 0).Select(t => $"s{t.i}").ToHashSet();
            var h = new PlannerHarness(definition);
            var now = Start;
            h.Enter(now);
            foreach (var stimulus in s.Stimuli)
            {
                now += TimeSpan.FromMinutes(stimulus.Minutes);
                var before = h.Actions.Count;
                var entry = h.State.Entry;
                var plan = stimulus.Kind switch
                {
                    0 => h.Wake(now),
                    1 => h.Event(Events[stimulus.Pick % 2], now),
                    2 => h.Enter(now),
                    // The wake the journey asked for, on time.
                    _ => h.Wake(now = h.Last?.WakeAt is { } due && due > now && stimulus.Pick % 2 == 0 ? due : now),
                };

                // Only steps of the workflow, and each send under the key of its step and the entry it belongs to.
                Assert.True(h.State.StepId is null || stepIds.Contains(h.State.StepId), $"position {h.State.StepId} is not a step");
                foreach (var send in h.Actions.Skip(before).OfType<JourneyAction.Send>())
                {
                    Assert.Contains(send.Request.StepId, sendSteps);
                    Assert.Equal(JourneyPlanner.SendKey("j1", send.Request.StepId, h.State.Entry), send.Request.SendKey);
                    Assert.True(h.State.Entry >= entry);
                }

                // A journey waiting for a time waits for a later one: whatever was due has been caught up.
                Assert.True(plan.WakeAt is null || plan.WakeAt > h.History().LastOrDefault(), $"wakes at {plan.WakeAt:O}, before its own history");
            }

            // At most one send per send step per entry, however the stimuli interleaved.
            var keys = h.Actions.OfType<JourneyAction.Send>().Select(a => a.Request.SendKey).ToList();
            Assert.Equal(keys.Count, keys.Distinct(StringComparer.Ordinal).Count());
            var times = h.State.History.Select(e => e.At).ToList();
            Assert.True(times.Order().SequenceEqual(times), string.Join("; ", h.State.History.Select(e => $"{e.Kind} {e.StepId} {e.At:O}")));
        }, iter: 1_000, print: Print);
    }

    [Fact]
    public async Task A_send_key_reaches_a_provider_at_most_once_whatever_the_interleaving()
    {
        // The grain's guarantee split into its plain parts: the planner names each send by a deterministic key, the grain
        // re-issues pending sends with the same key (retries), delivery claims the key in the send log (CreateAsync) and
        // the worker may only call a provider for a row it moved to sending (MarkSendingAsync), which happens once.
        await ScenarioGen.SampleAsync(async s =>
        {
            var h = new PlannerHarness(Workflow(s.Steps, s.Reenter));
            var log = new InMemorySendLog();
            var issued = new List<PendingSend>();
            var claimed = new Dictionary<string, SendRecord>(StringComparer.Ordinal);
            var providerCalls = new Dictionary<string, int>(StringComparer.Ordinal);

            async Task DeliverAsync(PendingSend send)
            {
                var (record, created) = await log.CreateAsync(new SendRecord
                {
                    Id = Guid.NewGuid(), OrganizationId = h.State.OrganizationId, SendKey = send.SendKey, Email = "ada@example.com",
                    Status = SendStatus.Queued, CreatedAt = Start,
                });
                Assert.True(created == !claimed.ContainsKey(send.SendKey), $"{send.SendKey} claimed twice or not at all");
                claimed.TryAdd(send.SendKey, record);
                Assert.Equal(claimed[send.SendKey].Id, record.Id);
            }

            async Task DispatchAsync(SendRecord record)
            {
                foreach (var id in await log.MarkSendingAsync([new SendRef(record.Id, record.CreatedAt)], "sendgrid"))
                {
                    Assert.Equal(record.Id, id);
                    providerCalls[record.SendKey] = providerCalls.GetValueOrDefault(record.SendKey) + 1;
                }
            }

            var now = Start;
            h.Enter(now);
            var seen = 0;
            foreach (var stimulus in s.Stimuli)
            {
                now += TimeSpan.FromMinutes(stimulus.Minutes);
                switch (stimulus.Kind)
                {
                    case 0:
                        h.Wake(h.Last?.WakeAt is { } due && due > now && stimulus.Pick % 2 == 0 ? now = due : now);
                        break;
                    case 1:
                        h.Event(Events[stimulus.Pick % 2], now);
                        break;
                    case 2:
                        h.Enter(now);
                        break;
                    case 3 when issued.Count > 0:
                        // A new activation (or the pending-send retry wake) hands a pending send to delivery again.
                        await DeliverAsync(issued[stimulus.Pick % issued.Count]);
                        break;
                    case 4 when claimed.Count > 0:
                        // The worker dispatches a queued send (again, after a takeover or a duplicate delivery).
                        await DispatchAsync(claimed.Values.ElementAt(stimulus.Pick % claimed.Count));
                        break;
                }

                foreach (var send in h.Actions.Skip(seen).OfType<JourneyAction.Send>())
                {
                    issued.Add(send.Request);
                    await DeliverAsync(send.Request);
                }

                seen = h.Actions.Count;
            }

            foreach (var record in claimed.Values.ToList())
            {
                await DispatchAsync(record);
                await DispatchAsync(record);
            }

            // Every send the planner asked for reached the provider exactly once: at most once, and none lost.
            Assert.Equal(issued.Select(p => p.SendKey).Distinct().Order(StringComparer.Ordinal), providerCalls.Keys.Order(StringComparer.Ordinal));
            Assert.All(providerCalls, c => Assert.Equal(1, c.Value));
        }, iter: 1_000, print: Print);
    }
}

internal static class PlannerHarnessHistory
{
    /// <summary>Times of the journey's history entries so far.</summary>
    public static IEnumerable<DateTimeOffset> History(this PlannerHarness h) => h.State.History.Select(e => e.At);
}
