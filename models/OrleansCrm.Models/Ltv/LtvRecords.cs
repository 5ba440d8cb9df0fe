namespace OrleansCrm.Models.Ltv;

/// <summary>
/// One customer's purchase history summarised the way the BG/NBD and Gamma-Gamma models need it, so that training
/// never has to see the raw transaction log. All times are in the same unit (weeks for the CDNOW data).
/// </summary>
/// <param name="Frequency">Number of repeat purchases x (the first purchase is not counted: it only starts the clock).</param>
/// <param name="Recency">Time t_x from the first purchase to the last repeat purchase; 0 when x is 0.</param>
/// <param name="Age">Time T from the first purchase to the end of the observation window.</param>
/// <param name="MeanSpend">Mean value of the repeat purchases (zbar, m_x); ignored by BG/NBD and when x is 0.</param>
public sealed record RfmObservation(double Frequency, double Recency, double Age, double MeanSpend);

/// <summary>
/// Fitted BG/NBD parameters. A plain positional record so that System.Text.Json can store and reload it as a versioned
/// model artifact; grains then only evaluate the closed-form expectations with these four numbers.
/// </summary>
/// <param name="R">Shape of the gamma distribution of purchase rates across customers.</param>
/// <param name="Alpha">Scale of that gamma distribution (same time unit as the data).</param>
/// <param name="A">First shape of the beta distribution of the drop-out probability after each purchase.</param>
/// <param name="B">Second shape of that beta distribution.</param>
/// <param name="LogLikelihood">Total log-likelihood at the fit, kept so that refits on new data can be compared.</param>
public sealed record BgNbdParameters(double R, double Alpha, double A, double B, double LogLikelihood);

/// <summary>
/// Fitted Gamma-Gamma spend parameters, stored alongside <see cref="BgNbdParameters"/> as a model artifact.
/// </summary>
/// <param name="P">Shape of the gamma distribution of individual transaction values around a customer's mean.</param>
/// <param name="Q">Shape of the gamma distribution of the customers' scale parameters.</param>
/// <param name="V">Scale (gamma in note 025) of that distribution.</param>
public sealed record GammaGammaParameters(double P, double Q, double V);
