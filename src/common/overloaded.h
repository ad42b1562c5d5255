// std::visit with a set of lambdas: std::visit(Overloaded{[](const A&) {...}, [](const B&) {...}},
// variant).
#pragma once

namespace vigil {

template <class... Ts>
struct Overloaded : Ts... {
  using Ts::operator()...;
};
template <class... Ts>
Overloaded(Ts...) -> Overloaded<Ts...>;

}  // namespace vigil
