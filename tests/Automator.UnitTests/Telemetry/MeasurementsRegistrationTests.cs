using Automator.Infrastructure.Telemetry;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace Automator.UnitTests.Telemetry;

public sealed class MeasurementsRegistrationTests
{
    private static IServiceCollection Register(params (string Key, string Value)[] settings)
    {
        var configuration = new ConfigurationBuilder()
            .AddInMemoryCollection(settings.Select(s => new KeyValuePair<string, string?>(s.Key, s.Value)))
            .Build();
        return new ServiceCollection().AddMeasurements(configuration);
    }

    [Fact]
    public void Without_a_url_measurements_are_not_kept_and_no_writer_runs()
    {
        var services = Register();

        using var provider = services.AddSingleton(TimeProvider.System).BuildServiceProvider();
        Assert.IsType<NoMeasurements>(provider.GetRequiredService<IMeasurements>());
        Assert.DoesNotContain(services, d => d.ImplementationType == typeof(InfluxWriter));
    }

    [Fact]
    public void With_a_url_measurements_go_to_the_buffer_drained_by_the_writer()
    {
        var services = Register(("Automator:InfluxDb:Url", "http://influxdb:8086"), ("Automator:InfluxDb:Capacity", "5"));

        using var provider = services.AddSingleton(TimeProvider.System).BuildServiceProvider();
        Assert.IsType<InfluxMeasurements>(provider.GetRequiredService<IMeasurements>());
        Assert.Contains(services, d => d.ServiceType == typeof(IHostedService) && d.ImplementationType == typeof(InfluxWriter));
    }

    [Theory]
    [InlineData("Url", "influxdb:8086/not-absolute")]
    [InlineData("Url", "ftp://influxdb")]
    [InlineData("Capacity", "0")]
    [InlineData("BatchSize", "0")]
    [InlineData("FlushInterval", "00:00:00")]
    public void A_bad_setting_fails_start_up_naming_the_section(string key, string value)
    {
        var settings = new Dictionary<string, string> { ["Automator:InfluxDb:Url"] = "http://influxdb:8086" };
        settings[$"Automator:InfluxDb:{key}"] = value;

        var error = Assert.Throws<InvalidOperationException>(() => Register([.. settings.Select(s => (s.Key, s.Value))]));

        Assert.Contains("Automator:InfluxDb", error.Message, StringComparison.Ordinal);
    }
}
