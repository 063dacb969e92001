using Amazon;
using Amazon.Runtime;
using Amazon.Runtime.Endpoints;
using Amazon.Runtime.Internal;
using Amazon.Runtime.Internal.Auth;

namespace Automator.Delivery.Providers;

/// <summary>
/// Signs SES v2 REST requests with the AWS SDK's own Signature Version 4 signer, so the signature is the SDK's and not a
/// re-implementation. Only the signing part of AWSSDK.Core is used; the request itself goes through our HttpClient.
/// </summary>
public sealed class SesRequestSigner(string region, string accessKeyId, string secretAccessKey)
{
    public const string ServiceName = "ses";
    private readonly AWS4Signer _signer = new();

    /// <summary>Returns the headers to send (Authorization, X-Amz-Date, X-Amz-Content-SHA256, Host, Content-Type).</summary>
    public IReadOnlyDictionary<string, string> Sign(Uri endpoint, string method, string resourcePath, byte[] body, string contentType, DateTime signedAtUtc)
    {
        var request = new DefaultRequest(new SesApiRequest(), ServiceName)
        {
            HttpMethod = method,
            Endpoint = new Uri(endpoint.GetLeftPart(UriPartial.Authority)),
            ResourcePath = resourcePath,
            Content = body,
        };
        request.Headers["Content-Type"] = contentType;
        var config = new SigningConfig(region, endpoint.GetLeftPart(UriPartial.Authority));
        var result = _signer.SignRequest(request, config, null, accessKeyId, secretAccessKey, signedAtUtc);
        var headers = new Dictionary<string, string>(request.Headers, StringComparer.OrdinalIgnoreCase)
        {
            ["Authorization"] = result.ForAuthorizationHeader,
        };
        return headers;
    }

    private sealed class SesApiRequest : AmazonWebServiceRequest;

    private sealed class SigningConfig : ClientConfig
    {
        public SigningConfig(string region, string serviceUrl)
            : base(new StandardDefaults())
        {
            AuthenticationRegion = region;
            AuthenticationServiceName = ServiceName;
            ServiceURL = serviceUrl;
        }

        public override string RegionEndpointServiceName => ServiceName;

        public override string ServiceVersion => "2019-09-27";

        public override string UserAgent => "automator";

        public override Endpoint DetermineServiceOperationEndpoint(ServiceOperationEndpointParameters parameters) => new(ServiceURL);
    }

    private sealed class StandardDefaults : IDefaultConfigurationProvider
    {
        public IDefaultConfiguration GetDefaultConfiguration(RegionEndpoint? clientRegion, DefaultConfigurationMode? requestedConfigurationMode = null) =>
            new DefaultConfiguration
            {
                Name = DefaultConfigurationMode.Standard,
                RetryMode = RequestRetryMode.Standard,
                S3UsEast1RegionalEndpoint = S3UsEast1RegionalEndpointValue.Regional,
            };
    }
}
