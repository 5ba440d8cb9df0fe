using Microsoft.AspNetCore.Http.HttpResults;
using OrleansCrm.Customers;

namespace OrleansCrm.Gateway.Customers;

public static class CustomerEndpoints
{
    private const int MaxNameLength = 200;

    public static IEndpointRouteBuilder MapCustomerEndpoints(this IEndpointRouteBuilder app)
    {
        var customers = app.MapGroup("/api/v1/customers").WithTags("Customers");
        customers.MapGet("/{customerId}", GetAsync).WithName("GetCustomer").WithSummary("The customer's live view");
        customers.MapPut("/{customerId}", UpsertAsync).WithName("UpsertCustomer").WithSummary("Create the customer or update the profile fields given");
        return app;
    }

    private static async Task<Results<Ok<CustomerView>, ProblemHttpResult, ValidationProblem>> GetAsync(string customerId, IClusterClient cluster)
    {
        if (CustomerKeys.Validate(customerId) is { } problem)
        {
            return Invalid("customerId", problem);
        }

        var view = await cluster.GetCustomer(customerId).GetViewAsync();
        return view is null
            ? TypedResults.Problem(title: "Customer not found", statusCode: StatusCodes.Status404NotFound, detail: $"No customer with id '{customerId}' was recorded.")
            : TypedResults.Ok(view);
    }

    private static async Task<Results<Ok<CustomerView>, ValidationProblem>> UpsertAsync(string customerId, CustomerProfileRequest? body, IClusterClient cluster)
    {
        if (CustomerKeys.Validate(customerId) is { } problem)
        {
            return Invalid("customerId", problem);
        }

        if (body is null)
        {
            return Invalid("body", "a JSON object with the profile fields is required");
        }

        var errors = body.Validate();
        if (errors.Count > 0)
        {
            return TypedResults.ValidationProblem(errors);
        }

        var view = await cluster.GetCustomer(customerId).UpsertProfileAsync(
            new CustomerProfile(body.FirstName?.Trim(), body.LastName?.Trim(), body.Email?.Trim().ToLowerInvariant(), body.Phone?.Trim()));
        return TypedResults.Ok(view);
    }

    private static ValidationProblem Invalid(string field, string problem) =>
        TypedResults.ValidationProblem(new Dictionary<string, string[]> { [field] = [problem] });

    /// <summary>The profile fields a caller may send; omitted fields stay as they are.</summary>
    public sealed record CustomerProfileRequest(string? FirstName, string? LastName, string? Email, string? Phone)
    {
        public Dictionary<string, string[]> Validate()
        {
            var errors = new Dictionary<string, string[]>();
            if (FirstName is { Length: > MaxNameLength })
            {
                errors["firstName"] = [$"must be at most {MaxNameLength} characters"];
            }

            if (LastName is { Length: > MaxNameLength })
            {
                errors["lastName"] = [$"must be at most {MaxNameLength} characters"];
            }

            if (Email is not null && !System.Net.Mail.MailAddress.TryCreate(Email.Trim(), out _))
            {
                errors["email"] = ["is not an e-mail address"];
            }

            if (Phone is not null && (Phone.Trim().Length is < 3 or > 32 || !Phone.Trim().All(c => char.IsAsciiDigit(c) || c is '+' or ' ' or '-' or '(' or ')')))
            {
                errors["phone"] = ["must be 3-32 characters of digits, spaces, + - ( )"];
            }

            if (FirstName is null && LastName is null && Email is null && Phone is null)
            {
                errors["body"] = ["set at least one of firstName, lastName, email, phone"];
            }

            return errors;
        }
    }
}
