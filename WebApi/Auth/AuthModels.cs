namespace Automator.WebApi.Auth;

public sealed record SignupRequest(string? OrganizationName, string? Email, string? Password);

public sealed record LoginRequest(string? Email, string? Password);

public sealed record AcceptInviteRequest(string? Token, string? Password);

public sealed record UserResponse(Guid Id, string Email, string Role, string Status, Guid OrganizationId, DateTimeOffset CreatedAt, bool EmailVerified = false);

public sealed record VerifyEmailRequest(string? Token);

public sealed record VerifyEmailResponse(bool EmailVerified);

public sealed record PasswordResetRequest(string? Email);

public sealed record PasswordResetConfirmRequest(string? Token, string? Password);

public sealed record OrganizationResponse(Guid Id, string Name);

public sealed record SignupResponse(string AccessToken, int ExpiresIn, UserResponse User, OrganizationResponse Organization);

public sealed record TokenResponse(string AccessToken, int ExpiresIn);
