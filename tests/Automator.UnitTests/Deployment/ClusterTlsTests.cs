using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Automator.WebApi.Hosting;
using Microsoft.Extensions.Configuration;
using Orleans.Connections.Security;

namespace Automator.UnitTests.Deployment;

public sealed class ClusterTlsTests
{
    [Fact]
    public void Without_a_ca_a_peer_is_accepted_only_with_the_clusters_own_certificate()
    {
        using var cluster = SelfSigned("CN=automator-cluster");
        using var same = X509CertificateLoader.LoadCertificate(cluster.RawData);
        using var stranger = SelfSigned("CN=automator-cluster");

        var accepts = ClusterTls.CreateValidator(cluster, ca: null);

        Assert.True(accepts(same));
        Assert.False(accepts(stranger));
    }

    [Fact]
    public void With_a_ca_a_peer_is_accepted_with_any_certificate_that_ca_issued_and_refused_with_one_from_another()
    {
        using var ca = SelfSigned("CN=automator-ca", authority: true);
        using var otherCa = SelfSigned("CN=other-ca", authority: true);
        using var local = IssuedBy(ca, "CN=silo-a");
        using var peer = IssuedBy(ca, "CN=silo-b");
        using var intruder = IssuedBy(otherCa, "CN=silo-b");
        using var caPublic = X509CertificateLoader.LoadCertificate(ca.RawData);

        var accepts = ClusterTls.CreateValidator(local, caPublic);

        Assert.True(accepts(peer));
        Assert.False(accepts(intruder));
        Assert.False(accepts(otherCa));
    }

    [Fact]
    public void Tls_is_off_until_a_certificate_path_is_set_and_then_requires_a_certificate_from_both_sides()
    {
        Assert.False(ClusterTlsOptions.From(Configuration(("Automator:Cluster:Tls:CertificatePath", ""), ("Automator:Cluster:Tls:KeyPath", "/etc/tls.key"))).Enabled);

        var directory = Directory.CreateTempSubdirectory("automator-tls-");
        try
        {
            using var key = RSA.Create(2048);
            using var certificate = new CertificateRequest("CN=automator-cluster", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1)
                .CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddDays(1));
            File.WriteAllText(Path.Combine(directory.FullName, "tls.crt"), certificate.ExportCertificatePem());
            File.WriteAllText(Path.Combine(directory.FullName, "tls.key"), key.ExportPkcs8PrivateKeyPem());
            var options = ClusterTlsOptions.From(Configuration(
                ("Automator:Cluster:Tls:CertificatePath", Path.Combine(directory.FullName, "tls.crt")),
                ("Automator:Cluster:Tls:KeyPath", Path.Combine(directory.FullName, "tls.key"))));

            using var loaded = ClusterTls.LoadCertificate(options);
            var tls = new TlsOptions();
            ClusterTls.Configure(tls, loaded, options);

            Assert.True(options.Enabled);
            Assert.True(loaded.HasPrivateKey);
            Assert.Equal(certificate.Thumbprint, loaded.Thumbprint);
            Assert.Same(loaded, tls.LocalCertificate);
            Assert.Equal(RemoteCertificateMode.RequireCertificate, tls.RemoteCertificateMode);
            Assert.Equal(RemoteCertificateMode.RequireCertificate, tls.ClientCertificateMode);
        }
        finally
        {
            directory.Delete(recursive: true);
        }
    }

    [Fact]
    public void A_certificate_path_that_does_not_exist_fails_naming_the_setting()
    {
        var options = new ClusterTlsOptions { CertificatePath = "/nonexistent/tls.crt" };

        var error = Assert.Throws<InvalidOperationException>(() => ClusterTls.LoadCertificate(options));

        Assert.Contains("Automator:Cluster:Tls:CertificatePath", error.Message, StringComparison.Ordinal);
    }

    private static IConfiguration Configuration(params (string Key, string Value)[] values) =>
        new ConfigurationBuilder().AddInMemoryCollection(values.Select(v => new KeyValuePair<string, string?>(v.Key, v.Value))).Build();

    private static X509Certificate2 SelfSigned(string subject, bool authority = false)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest(subject, key, HashAlgorithmName.SHA256);
        if (authority)
        {
            request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
            request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign, true));
        }

        return request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddDays(1));
    }

    private static X509Certificate2 IssuedBy(X509Certificate2 ca, string subject)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest(subject, key, HashAlgorithmName.SHA256);
        using var issued = request.Create(ca, DateTimeOffset.UtcNow.AddMinutes(-1), DateTimeOffset.UtcNow.AddHours(12), RandomNumberGenerator.GetBytes(8));
        return issued.CopyWithPrivateKey(key);
    }
}
