// fmt's compiled part, for the statically linked vigilctl (src/tools/CMakeLists.txt): Debian ships
// libfmt as a shared library only. format-inl.h holds the definitions that libfmt.so exports;
// the explicit instantiations are the templates the control API's objects take from it (a
// missing one is an undefined symbol when vigilctl links, never a silent difference).
#include <fmt/format-inl.h>

FMT_BEGIN_NAMESPACE
namespace detail {
template auto dragonbox::to_decimal(float x) noexcept -> dragonbox::decimal_fp<float>;
template auto dragonbox::to_decimal(double x) noexcept -> dragonbox::decimal_fp<double>;
template auto thousands_sep_impl(locale_ref) -> thousands_sep_result<char>;
template auto decimal_point_impl(locale_ref) -> char;
template void buffer<char>::append(const char*, const char*);
}  // namespace detail
FMT_END_NAMESPACE
