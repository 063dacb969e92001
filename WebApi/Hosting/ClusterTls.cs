using System.Security.Cryptography.X509Certificates;
using Orleans.Connections.Security;

namespace Automator.WebApi.Hosting;

/// <summary>
/// Settings under <c>Automator:Cluster:Tls</c>: TLS on silo-to-silo and client-to-gateway connections. Off while
/// <see cref="CertificatePath"/> is unset. Every Automator process presents its certificate and requires one from the
/// other side (mutual TLS). Without <see cref="CaPath"/> the peer must present the very same certificate (one
/// certificate shared by the cluster's pods, mounted from one Secret); with it, any certificate that CA issued.
/// </summary>
public sealed class ClusterTlsOptions
{
    public const string Section = "Automator:Cluster:Tls";

    /// <summary>The certificate: PEM (with <see cref="KeyPath"/>, or with its key in the same file) or PKCS#12 (.pfx/.p12).</summary>
    public string? CertificatePath { get; set; }

    /// <summary>The PEM private key of a PEM certificate; unset: the key is read from the certificate's file.</summary>
    public string? KeyPath { get; set; }

    /// <summary>Password of a PKCS#12 file.</summary>
    public string? CertificatePassword { get; set; }

    /// <summary>PEM of the CA that issues the cluster's certificates; unset: the peer must present this process's certificate.</summary>
    public string? CaPath { get; set; }

    public bool Enabled => !string.IsNullOrWhiteSpace(CertificatePath);

    public static ClusterTlsOptions From(IConfiguration configuration) =>
        configuration.GetSection(Section).Get<ClusterTlsOptions>() ?? new ClusterTlsOptions();
}

/// <summary>Turns <see cref="ClusterTlsOptions"/> into Orleans' <see cref="TlsOptions"/>, the same on silos and clients.</summary>
public static class ClusterTls
{
    /// <summary>The name clients ask for in the handshake; peers are checked by certificate, not by name (pod addresses change).</summary>
    public const string TargetHost = "automator-cluster";

    public static X509Certificate2 LoadCertificate(ClusterTlsOptions options)
    {
        var path = options.CertificatePath ?? throw new InvalidOperationException($"{ClusterTlsOptions.Section}:CertificatePath is not set.");
        if (!File.Exists(path))
        {
            throw new InvalidOperationException($"{ClusterTlsOptions.Section}:CertificatePath names '{path}', which does not exist.");
        }

        var extension = Path.GetExtension(path).ToLowerInvariant();
        if (extension is ".pfx" or ".p12")
        {
            return X509CertificateLoader.LoadPkcs12FromFile(path, options.CertificatePassword);
        }

        using var pem = X509Certificate2.CreateFromPemFile(path, string.IsNullOrWhiteSpace(options.KeyPath) ? null : options.KeyPath);
        // An ephemeral PEM key cannot serve a TLS handshake on every platform: re-import it as PKCS#12.
        return X509CertificateLoader.LoadPkcs12(pem.Export(X509ContentType.Pkcs12), null);
    }

    /// <summary>Applies the cluster's certificate and peer check to Orleans' TLS options.</summary>
    public static void Configure(TlsOptions tls, X509Certificate2 certificate, ClusterTlsOptions options)
    {
        var validator = CreateValidator(certificate, options.CaPath is { Length: > 0 } caPath ? X509CertificateLoader.LoadCertificateFromFile(caPath) : null);
        tls.LocalCertificate = certificate;
        tls.RemoteCertificateMode = RemoteCertificateMode.RequireCertificate;
        tls.ClientCertificateMode = RemoteCertificateMode.RequireCertificate;
        tls.RemoteCertificateValidation = (remote, _, _) => validator(remote);
        tls.OnAuthenticateAsClient = (_, client) => client.TargetHost = TargetHost;
    }

    /// <summary>
    /// The peer check: with a CA, a certificate that chains to it alone (system roots ignored); without one, exactly the
    /// local certificate. Host names are not compared: silos are reached at pod addresses that no certificate names.
    /// </summary>
    public static Func<X509Certificate2, bool> CreateValidator(X509Certificate2 local, X509Certificate2? ca)
    {
        if (ca is null)
        {
            return remote => remote.RawDataMemory.Span.SequenceEqual(local.RawDataMemory.Span);
        }

        return remote =>
        {
            using var chain = new X509Chain();
            chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
            chain.ChainPolicy.CustomTrustStore.Add(ca);
            chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
            return chain.Build(remote);
        };
    }

}
