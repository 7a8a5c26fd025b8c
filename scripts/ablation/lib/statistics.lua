-- Statistics over seeds for the ablation tables: a variant against the reference
-- variant, paired by seed (the same seed gives the same initialisation and data
-- order of network 1 in both runs), as the mean difference with a 95% confidence
-- interval from Student's t distribution and a two-sided paired t-test.
local statistics = {}

-- mean and sample standard deviation (n - 1); sd is nil for fewer than two values.
function statistics.mean_sd(values)
  local n, sum = #values, 0
  for _, v in ipairs(values) do sum = sum + v end
  local mean = n > 0 and sum / n or 0 / 0
  if n < 2 then return mean, nil end
  local squares = 0
  for _, v in ipairs(values) do squares = squares + (v - mean) ^ 2 end
  return mean, math.sqrt(squares / (n - 1))
end

-- log Gamma(x), x > 0 (Lanczos, g = 7, 9 terms: about 15 digits).
local LANCZOS = {0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313,
                 -176.61502916214059, 12.507343278686905, -0.13857109526572012,
                 9.9843695780195716e-6, 1.5056327351493116e-7}
local function log_gamma(x)
  if x < 0.5 then return math.log(math.pi / math.sin(math.pi * x)) - log_gamma(1 - x) end
  x = x - 1
  local sum, t = LANCZOS[1], x + 7.5
  for i = 2, 9 do sum = sum + LANCZOS[i] / (x + i - 1) end
  return 0.5 * math.log(2 * math.pi) + (x + 0.5) * math.log(t) - t + math.log(sum)
end

-- The continued fraction of the incomplete beta function (modified Lentz).
local function beta_fraction(a, b, x)
  local tiny = 1e-300
  local c, d = 1, 1 - (a + b) * x / (a + 1)
  if math.abs(d) < tiny then d = tiny end
  d = 1 / d
  local h = d
  for m = 1, 300 do
    local m2 = 2 * m
    local even = m * (b - m) * x / ((a + m2 - 1) * (a + m2))
    d = 1 + even * d
    if math.abs(d) < tiny then d = tiny end
    c = 1 + even / c
    if math.abs(c) < tiny then c = tiny end
    d = 1 / d
    h = h * d * c
    local odd = -(a + m) * (a + b + m) * x / ((a + m2) * (a + m2 + 1))
    d = 1 + odd * d
    if math.abs(d) < tiny then d = tiny end
    c = 1 + odd / c
    if math.abs(c) < tiny then c = tiny end
    d = 1 / d
    local step = d * c
    h = h * step
    if math.abs(step - 1) < 1e-15 then break end
  end
  return h
end

-- The regularised incomplete beta function I_x(a, b).
function statistics.incomplete_beta(x, a, b)
  if x <= 0 then return 0 end
  if x >= 1 then return 1 end
  local front = math.exp(log_gamma(a + b) - log_gamma(a) - log_gamma(b) + a * math.log(x)
                         + b * math.log(1 - x))
  -- the fraction converges fast on this side of the mean; use symmetry on the other
  if x < (a + 1) / (a + b + 2) then return front * beta_fraction(a, b, x) / a end
  return 1 - front * beta_fraction(b, a, 1 - x) / b
end

-- P(|T| >= |t|) for Student's t with df degrees of freedom.
function statistics.t_two_sided_p(t, df)
  if t ~= t then return 0 / 0 end
  if t == math.huge or t == -math.huge then return 0 end
  return statistics.incomplete_beta(df / (df + t * t), df / 2, 0.5)
end

-- The quantile q with P(T <= q) = probability (> 0.5), by bisection on the tail.
function statistics.t_quantile(probability, df)
  local tail = 2 * (1 - probability)
  local lo, hi = 0, 1
  while statistics.t_two_sided_p(hi, df) > tail do hi = hi * 2 end
  for _ = 1, 200 do
    local mid = (lo + hi) / 2
    if statistics.t_two_sided_p(mid, df) > tail then lo = mid else hi = mid end
  end
  return (lo + hi) / 2
end

-- The comparison of a variant with the reference: values keyed by seed. Only seeds
-- present on both sides count. Returns {pairs, mean (of variant - reference), sd,
-- low, high (the 95% interval), p (paired t-test), verdict ("gain", "loss", "no effect
-- shown (the interval holds 0)", or why there is no interval), text (the verdict with
-- its numbers)}.
function statistics.paired(variant, reference)
  local differences, seeds = {}, {}
  for seed in pairs(variant) do
    if reference[seed] then seeds[#seeds + 1] = seed end
  end
  table.sort(seeds)
  for i, seed in ipairs(seeds) do differences[i] = variant[seed] - reference[seed] end
  local n = #differences
  local mean, sd = statistics.mean_sd(differences)
  local result = {pairs = n, mean = mean, sd = sd}
  if n < 2 then
    result.verdict = n == 1 and "one seed: no interval" or "no paired seeds"
    result.text = n == 1 and string.format("%s (%+.2f)", result.verdict, mean) or result.verdict
    return result
  end
  local half = statistics.t_quantile(0.975, n - 1) * sd / math.sqrt(n)
  result.low, result.high = mean - half, mean + half
  result.p = sd > 0 and statistics.t_two_sided_p(mean / (sd / math.sqrt(n)), n - 1)
             or (mean == 0 and 1 or 0)
  if result.low > 0 then
    result.verdict = "gain"
  elseif result.high < 0 then
    result.verdict = "loss"
  else
    result.verdict = "no effect shown (the interval holds 0)"
  end
  result.text = string.format("%s: %+.2f [%+.2f, %+.2f], p = %.2g, %d seeds", result.verdict, mean,
                              result.low, result.high, result.p, n)
  return result
end

return statistics
