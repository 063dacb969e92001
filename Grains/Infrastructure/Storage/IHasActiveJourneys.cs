namespace Automator.Infrastructure.Storage;

/// <summary>
/// State of a contact that may be in journeys. <see cref="BatchedGrainStorage"/> stores the flag beside the state, in the
/// same write, so the API can tell which contacts' grains must see an event without activating the others.
/// </summary>
public interface IHasActiveJourneys
{
    bool HasActiveJourneys { get; }
}
