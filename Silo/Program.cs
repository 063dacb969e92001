using Automator.Silo;

var builder = WebApplication.CreateBuilder(args);
await builder.AddAutomatorSiloAsync();

var app = builder.Build();
await app.UseAutomatorSiloAsync();
await app.RunAsync();

public partial class Program;
