/*
 * json_dtoa.cpp — shortest round-trip formatting of doubles for the JSON
 * encoder, on Google's double-conversion (Debian libdouble-conversion-dev).
 *
 * Owns: cra_json_dtoa (declared in json.h, C linkage).
 *
 * ToShortest gives the fewest significant digits that read back to the same
 * double (5e-324, 0.1, 0.30000000000000004, 1.7976931348623157e+308). It
 * never looks at the C locale, allocates nothing and throws nothing.
 * Layout: plain decimal while the decimal point sits between 10^-6 and
 * 10^15, exponent form outside ("1e-7", "1.5e+15"): every double of 10^15
 * and more is written with an exponent, so an integral float beyond 2^53
 * reads back as a float, never as an integer.
 */
#include <double-conversion/double-to-string.h>
#include <double-conversion/utils.h>

#include "json.h"

namespace {

const double_conversion::DoubleToStringConverter &converter() {
  static const double_conversion::DoubleToStringConverter conv(
      double_conversion::DoubleToStringConverter::EMIT_POSITIVE_EXPONENT_SIGN,
      nullptr, nullptr, 'e', -6, 15, 0, 0);
  return conv;
}

}  // namespace

extern "C" CRA_HIDDEN int cra_json_dtoa(double x, char *buf, size_t size) {
  double_conversion::StringBuilder sb(buf, static_cast<int>(size));
  if (!converter().ToShortest(x, &sb)) return -1; /* NaN or infinity */
  int n = sb.position();
  sb.Finalize();
  return n;
}
