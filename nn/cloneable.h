// nn::Cloneable<T, Base>: the CRTP base of modules with typed forwards and a deep clone()
// (PyTorch C++ frontend's Cloneable). A module written as a plain C++ class:
//
//   struct TwoTower : nn::Cloneable<TwoTower, nn::Model> {   // or nn::Cloneable<TwoTower> (a Module)
//     std::shared_ptr<nn::Dense> img, feat, head;
//     TwoTower() : Cloneable("TwoTower", "two_tower") {
//       img = register_module("img", std::make_shared<nn::Dense>(16, "relu"));
//       feat = register_module("feat", std::make_shared<nn::Dense>(8, "relu"));
//       head = register_module("head", std::make_shared<nn::Dense>(3, "softmax"));
//     }
//     Tensor forward(const Tensor& image, const Tensor& features) {
//       return (*head)(concat({(*img)(image.flatten(1)), (*feat)(features)}, 1));
//     }
//   };
//
// gives: model(a, b) (the typed call: hooks and the output-shape record included),
// forward_any / call({a, b}) (the type-erased path fit(), Sequential and summary() use),
// and clone(). forward may take any arguments and return a Tensor, a std::vector<Tensor>, a
// std::tuple / std::pair of Tensors or an nn::ModuleOutput; the type-erased path and hooks need
// every argument to be a Tensor (up to 8).
//
// clone() builds a new T with fresh() and copies every parameter, buffer, flag and child's state
// into it (matched by name). What a user class writes: its children and parameters are
// registered in its constructor (deterministically, same names), and either T is default
// constructible or T defines `std::shared_ptr<T> fresh() const` returning a new T built with the
// same constructor arguments.
//
// clang's -Woverloaded-virtual (in its -Wall) notes that a typed forward(a, b) hides
// Module::forward(const Tensor&): that is intended (the single-tensor call reaches the typed
// forward through this class); do not bring it back with `using`.
#pragma once
#include <memory>
#include <tuple>
#include <typeinfo>
#include <type_traits>
#include <utility>
#include <vector>

#include "nn/module.h"

namespace tapeflow::nn {

namespace detail {

template <class R> struct is_tensor_tuple : std::false_type {};
template <class... T> struct is_tensor_tuple<std::tuple<T...>> : std::bool_constant<(std::is_same_v<T, Tensor> && ...)> {};
template <> struct is_tensor_tuple<std::pair<Tensor, Tensor>> : std::true_type {};

// Whether a forward result converts to and from ModuleOutput.
template <class R>
constexpr bool is_output_v = std::is_same_v<R, Tensor> || std::is_same_v<R, std::vector<Tensor>> ||
                             std::is_same_v<R, ModuleOutput> || is_tensor_tuple<R>::value;

template <class R>
ModuleOutput to_output(R&& r) {
  using D = std::decay_t<R>;
  if constexpr (is_tensor_tuple<D>::value)
    return std::apply([](auto&&... t) { return ModuleOutput(std::vector<Tensor>{Tensor(t)...}); }, r);
  else
    return ModuleOutput(std::forward<R>(r));
}

template <class R>
R from_output(ModuleOutput o) {
  if constexpr (std::is_same_v<R, Tensor>) {
    return o.tensor();
  } else if constexpr (std::is_same_v<R, std::vector<Tensor>>) {
    return std::move(o.tensors());
  } else if constexpr (std::is_same_v<R, ModuleOutput>) {
    return o;
  } else {
    constexpr size_t n = std::tuple_size_v<R>;
    if (o.size() != n) fail("forward hook: returned ", o.size(), " outputs where forward returns ", n);
    return [&]<size_t... I>(std::index_sequence<I...>) { return R(o[I]...); }(std::make_index_sequence<n>{});
  }
}

template <class R>
const Tensor* first_tensor(const R& r) {
  if constexpr (std::is_same_v<R, Tensor>) return &r;
  else if constexpr (std::is_same_v<R, std::vector<Tensor>>) return r.empty() ? nullptr : &r[0];
  else if constexpr (std::is_same_v<R, ModuleOutput>) return r.size() ? &r.tensors()[0] : nullptr;
  else return &std::get<0>(r);
}

template <size_t> using TensorArg = const Tensor&;
template <class D, class Seq> struct forward_arity;
template <class D, size_t... I>
struct forward_arity<D, std::index_sequence<I...>> {
  static constexpr bool invocable = requires(D& d, TensorArg<I>... t) { d.forward(t...); };
};

template <class T> inline constexpr bool always_false = false;

// Throws when the single-tensor forward of `self` re-enters itself on this thread (a class
// that brings Module::forward back with `using`, so forward(x) dispatches to itself).
class ForwardReentryGuard {
 public:
  explicit ForwardReentryGuard(const Module* self);
  ~ForwardReentryGuard();
  ForwardReentryGuard(const ForwardReentryGuard&) = delete;
  ForwardReentryGuard& operator=(const ForwardReentryGuard&) = delete;

 private:
  const Module* prev_;
};

}  // namespace detail

template <class Derived, class Base = Module>
class Cloneable : public Base {
 public:
  using Base::Base;

  // A new Derived with the same structure (see the header comment).
  std::shared_ptr<Derived> fresh() const {
    if constexpr (std::is_default_constructible_v<Derived>)
      return std::make_shared<Derived>();
    else
      static_assert(detail::always_false<Derived>,
                    "nn::Cloneable<T>: T has no default constructor: define `std::shared_ptr<T> fresh() const` "
                    "returning a new T made with the same constructor arguments (clone() copies the state into it)");
  }

  std::shared_ptr<Module> clone() const override {
    std::shared_ptr<Derived> copy = static_cast<const Derived&>(*this).fresh();
    if (!copy) fail(this->type_name(), ".clone(): fresh() returned null");
    const Module& made = *copy;
    if (typeid(made) != typeid(*this))
      fail(this->type_name(), ".clone(): this object's class derives from a cloneable module without being cloneable "
           "itself (the copy would lose the subclass): derive it from nn::Cloneable<YourClass, ", this->type_name(), ">");
    static_cast<Cloneable&>(*copy).copy_state_from(*this);
    return copy;
  }

  template <class A>
  void check_defined_arg(const A& a) const {
    if constexpr (std::is_same_v<std::decay_t<A>, Tensor>)
      if (!a.defined()) fail(this->type_name(), ": got an undefined tensor");
  }

  // The typed call: forward hooks, then Derived::forward(args...), then the output-shape record.
  template <class... Args>
  auto operator()(Args&&... args) {
    Derived& self = static_cast<Derived&>(*this);
    (check_defined_arg(args), ...);  // "Dense: got an undefined tensor", naming the layer
    using R = decltype(self.forward(std::forward<Args>(args)...));
    if (this->has_forward_hooks()) {
      if constexpr (sizeof...(Args) > 0 && (std::is_same_v<std::decay_t<Args>, Tensor> && ...) && detail::is_output_v<R>)
        return detail::from_output<R>(this->call(std::vector<Tensor>{Tensor(args)...}));
      else
        fail(this->type_name(), ": forward hooks need a forward whose arguments are Tensors and whose result is a "
             "Tensor, a std::vector<Tensor> or a tuple of Tensors");
    }
    if constexpr (std::is_void_v<R>) {
      self.forward(std::forward<Args>(args)...);
    } else {
      R r = self.forward(std::forward<Args>(args)...);
      if constexpr (detail::is_output_v<R>)
        if (const Tensor* t = detail::first_tensor(r)) this->record_output_shape(*t);
      return r;
    }
  }

  // Type-erased forward: calls Derived::forward with as many tensors as given.
  ModuleOutput forward_any(const std::vector<Tensor>& inputs) override { return dispatch(inputs); }
  // Single-tensor calls (Sequential, Module::operator()) of a module whose forward has another
  // signature that accepts one tensor (forward(x, mask = Tensor())).
  Tensor forward(const Tensor& x) override {
    detail::ForwardReentryGuard guard(this);
    return dispatch({x}).tensor();
  }

 private:
  // Whether Derived's forward is this class's forward(x) (Derived declares none of its own).
  static constexpr bool inherits_forward() {
    if constexpr (requires { &Derived::forward; })
      return std::is_same_v<decltype(&Derived::forward), Tensor (Cloneable::*)(const Tensor&)>;
    else
      return false;
  }
  template <size_t N>
  static constexpr bool arity_ok() {
    if constexpr (N == 0 || inherits_forward()) return false;
    else return detail::forward_arity<Derived, std::make_index_sequence<N>>::invocable;
  }
  template <size_t N>
  bool try_call(const std::vector<Tensor>& in, ModuleOutput& out) {
    if constexpr (!arity_ok<N>()) {
      return false;
    } else {
      Derived& self = static_cast<Derived&>(*this);
      return [&]<size_t... I>(std::index_sequence<I...>) {
        using R = std::decay_t<decltype(self.forward(in[I]...))>;
        if constexpr (!detail::is_output_v<R>) {
          return false;
        } else {
          out = detail::to_output(self.forward(in[I]...));
          return true;
        }
      }(std::make_index_sequence<N>{});
    }
  }
  ModuleOutput dispatch(const std::vector<Tensor>& in) {
    ModuleOutput out;
    bool done = false;
    std::string accepted;
    [&]<size_t... N>(std::index_sequence<N...>) {
      ((!done && in.size() == N ? (void)(done = try_call<N>(in, out)) : void()), ...);
      ((arity_ok<N>() ? (void)(accepted += (accepted.empty() ? "" : " or ") + std::to_string(N)) : void()), ...);
    }(std::make_index_sequence<9>{});
    if (!done)
      fail(this->type_name(), ": forward takes ", accepted.empty() ? std::string("no plain tensor list") : accepted,
           " input tensor", accepted == "1" ? "" : "s", ", got ", in.size());
    return out;
  }
};

}  // namespace tapeflow::nn
