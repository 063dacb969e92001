namespace Automator.WebApi.Auth;

public sealed record SignupRequest(string? OrganizationName, string? Email, string? Password);

public sealed record LoginRequest(string? Email, string? Password);

public sealed record AcceptInviteRequest(string? Token, string? Password);

public sealed record UserResponse(Guid Id, string Email, string Role, string Status, Guid OrganizationId, DateTimeOffset CreatedAt);

public sealed record OrganizationResponse(Guid Id, string Name);

public sealed record SignupResponse(string AccessToken, int ExpiresIn, UserResponse User, OrganizationResponse Organization);

public sealed record TokenResponse(string AccessToken, int ExpiresIn);
