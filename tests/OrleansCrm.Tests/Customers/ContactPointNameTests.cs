using OrleansCrm.Customers;

namespace OrleansCrm.Tests.Customers;

public sealed class ContactPointNameTests
{
    [Theory]
    [InlineData("Ada Lovelace", "ada lovelace")]
    [InlineData("  ADA   Lovelace ", "ada lovelace")]
    [InlineData("Zoë Ørsted", "zoe orsted")]
    [InlineData("José\tÁlvarez\nNúñez", "jose alvarez nunez")]
    [InlineData("Straße", "strasse")]
    [InlineData("Łukasz Wałęsa", "lukasz walesa")]
    [InlineData("   ", "")]
    [InlineData(null, "")]
    public void A_name_is_compared_lower_case_without_accents_and_with_single_spaces(string? name, string normalised) =>
        Assert.Equal(normalised, ContactPoints.Name(name));

    [Fact]
    public void A_customer_claims_its_full_name_and_its_last_name()
    {
        Assert.Equal(["name:zoe van der berg", "name:van der berg"], ContactPoints.NameKeys("Zoë", " Van der  Berg"));
    }

    [Fact]
    public void A_customer_with_one_name_part_claims_it_once()
    {
        Assert.Equal(["name:berg"], ContactPoints.NameKeys(null, "Berg"));
        Assert.Equal(["name:zoe"], ContactPoints.NameKeys("Zoe", null));
        Assert.Empty(ContactPoints.NameKeys(" ", null));
    }
}
