// Printing: Tensor::str() must match NumPy's str(np.array(...)) exactly, and Shape prints as a
// NumPy shape tuple. Every expected string below was produced by NumPy 1.24 (/usr/bin/python3)
// from the same values and dtype; the repr form is tapeflow's own.
#include <sstream>

#include "helpers.h"

using namespace tapeflow;

TEST_CASE("shapes print as NumPy tuples", "[print]") {
  auto str = [](const Shape& s) { std::ostringstream os; os << s; return os.str(); };
  CHECK(str(Shape{3, 2, 3}) == "(3, 2, 3)");
  CHECK(str(Shape{5}) == "(5,)");
  CHECK(str(Shape{}) == "()");
  CHECK(str(Shape{0, 4}) == "(0, 4)");
  std::ostringstream os;
  os << kFloat64 << " " << Device::cpu();
  CHECK(os.str() == "float64 cpu");
}

TEST_CASE("the seed examples print as NumPy does", "[print]") {
  Tensor x = tensor({1.f, 2.f, 3.f});
  CHECK((x * 2.0 + 0.7).str() == "[2.7 4.7 6.7]");
  Tensor r = arange(18, Options(kFloat32)).reshape({3, 2, 3});
  Tensor r6 = r.reshape({-1, 6});
  CHECK(r6.str() ==
        "[[ 0.  1.  2.  3.  4.  5.]\n"
        " [ 6.  7.  8.  9. 10. 11.]\n"
        " [12. 13. 14. 15. 16. 17.]]");
  CHECK(r6.sum(0).str() == "[18. 21. 24. 27. 30. 33.]");
  CHECK(r6.mean(0).str() == "[ 6.  7.  8.  9. 10. 11.]");
  CHECK(r.str() ==
        "[[[ 0.  1.  2.]\n"
        "  [ 3.  4.  5.]]\n"
        "\n"
        " [[ 6.  7.  8.]\n"
        "  [ 9. 10. 11.]]\n"
        "\n"
        " [[12. 13. 14.]\n"
        "  [15. 16. 17.]]]");
  Tensor z = tensor({1.78, 0.76, 1.65}, Options(kFloat64));
  CHECK(sigmoid(z).str() == "[0.85569687 0.68135373 0.83889105]");
  CHECK(softmax(z).str() == "[0.44668973 0.16107406 0.39223621]");
  std::ostringstream os;
  os << r.shape();
  CHECK(os.str() == "(3, 2, 3)");
}

TEST_CASE("floats: padding, negatives, precision and special values", "[print]") {
  CHECK(tensor({-1.5f, 2.f, 3.25f}).str() == "[-1.5   2.    3.25]");
  CHECK(tensor({0.1f, 0.25f}).str() == "[0.1  0.25]");
  CHECK(tensor({-0.f, 0.f}).str() == "[-0.  0.]");
  CHECK(zeros({3}).str() == "[0. 0. 0.]");
  CHECK(tensor({1.f / 3}).str() == "[0.33333334]");
  CHECK(tensor({1.0 / 3}, Options(kFloat64)).str() == "[0.33333333]");
  CHECK(tensor({3.141592653589793, 2.718281828459045}, Options(kFloat64)).str() == "[3.14159265 2.71828183]");
  CHECK(tensor({1.0, 2.0}, Options(kFloat64)).str() == "[1. 2.]");
  CHECK(tensor({{-1.25f, 10.f}, {3.f, -200.5f}}).str() == "[[  -1.25   10.  ]\n [   3.   -200.5 ]]");
  CHECK(tensor({1.5f, -2.f}).reshape({2, 1}).str() == "[[ 1.5]\n [-2. ]]");
  CHECK(tensor({NAN, INFINITY, -INFINITY, 1.f}).str() == "[ nan  inf -inf   1.]");
  CHECK(linspace(-1, 1, 7).str() ==
        "[-1.         -0.6666667  -0.33333334  0.          0.33333334  0.6666667\n"
        "  1.        ]");
  CHECK(tensor({499999500000.0}, Options(kFloat64)).str() == "[4.999995e+11]");
  CHECK(tensor({NAN, 1.5f}).str() == "[nan 1.5]");
  CHECK(tensor({NAN, NAN}).str() == "[nan nan]");
  CHECK(from_vector<double>({INFINITY, 2.5, 100}).str() == "[  inf   2.5 100. ]");
  CHECK(tensor({1.0000001, 123.25}, Options(kFloat64)).str() == "[  1.0000001 123.25     ]");
  CHECK(tensor({99999992.f}).str() == "[99999992.]");
}

TEST_CASE("scientific notation when magnitudes call for it", "[print]") {
  CHECK(tensor({1e-5f, 1.f}).str() == "[1.e-05 1.e+00]");
  CHECK(tensor({1e8f, 1.f}).str() == "[1.e+08 1.e+00]");
  CHECK(tensor({123456789.f}).str() == "[1.2345679e+08]");
  CHECK(tensor({0.001f, 1000.f}).str() == "[1.e-03 1.e+03]");
  CHECK(tensor({0.0001f, 0.5f}).str() == "[1.e-04 5.e-01]");
  CHECK(tensor({0.00001234f, 0.5f}).str() == "[1.234e-05 5.000e-01]");
  CHECK(tensor({-1e-7f, 2.5e10f, 3.f}).str() == "[-1.0e-07  2.5e+10  3.0e+00]");
  CHECK(tensor({NAN, 1e-6f, 1.f}).str() == "[   nan 1.e-06 1.e+00]");
  CHECK(tensor({1e7f, 1.f}).str() == "[1.e+07 1.e+00]");
  CHECK(tensor({1e-3f, 0.5f, 1234.5678f}).str() == "[1.0000000e-03 5.0000000e-01 1.2345677e+03]");
  CHECK(tensor({NAN, -INFINITY, 1e-6f, 1.f}).str() == "[   nan   -inf 1.e-06 1.e+00]");
  CHECK(tensor({16777217.f, 0.5f}).str() == "[1.6777216e+07 5.0000000e-01]");
  CHECK(tensor({99999992.f, 1e9f}).str() == "[9.999999e+07 1.000000e+09]");
  CHECK(tensor({1e9f + 64, 1.f}).str() == "[1.00000006e+09 1.00000000e+00]");
}

TEST_CASE("integers, bools and other dtypes", "[print]") {
  CHECK(from_vector<int64_t>({-1, 20, 3}).str() == "[-1 20  3]");
  CHECK(from_vector<int32_t>({1, -100, 25, 3}, {2, 2}).str() == "[[   1 -100]\n [  25    3]]");
  CHECK(from_vector<uint8_t>({0, 255}).str() == "[  0 255]");
  CHECK(from_vector<bool>({true, false}).str() == "[ True False]");
  CHECK(from_vector<bool>({true, true}).str() == "[ True  True]");
  CHECK(from_vector<bool>({true, false, false, true}, {2, 2}).str() == "[[ True False]\n [False  True]]");
  CHECK((tensor({1.f, -2.f}) > 0).str() == "[ True False]");
  CHECK((arange(16).reshape({2, 2, 2, 2})).str() ==
        "[[[[ 0  1]\n   [ 2  3]]\n\n  [[ 4  5]\n   [ 6  7]]]\n\n\n [[[ 8  9]\n   [10 11]]\n\n  [[12 13]\n   [14 15]]]]");
}

TEST_CASE("rank-0 and size-0 tensors", "[print]") {
  CHECK(scalar_tensor(3.5f).str() == "3.5");
  CHECK(scalar_tensor(7).str() == "7");
  CHECK(scalar_tensor(true).str() == "True");
  CHECK(scalar_tensor(2.0, Options(kFloat64)).str() == "2.0");
  CHECK(zeros({0}).str() == "[]");
  CHECK(zeros({2, 0}).str() == "[]");
  CHECK(zeros({0, 3}, Options(kInt64)).str() == "[]");
  // 0-d tensors print as NumPy scalars (str(np.float32(x)), str(np.float64(x)))
  CHECK(scalar_tensor(2.0f).str() == "2.0");
  CHECK(scalar_tensor(0.1f).str() == "0.1");
  CHECK(scalar_tensor(-0.5f).str() == "-0.5");
  CHECK(scalar_tensor(1e-5f).str() == "1e-05");
  CHECK(scalar_tensor(1e-4f).str() == "1e-04");  // float32(1e-4) is just below 1e-4
  CHECK(scalar_tensor(1e-4, Options(kFloat64)).str() == "0.0001");
  CHECK(scalar_tensor(9.9e-5f).str() == "9.9e-05");
  CHECK(scalar_tensor(123456789.f).str() == "123456790.0");
  CHECK(scalar_tensor(123456789.0, Options(kFloat64)).str() == "123456789.0");
  CHECK(scalar_tensor(1e16, Options(kFloat64)).str() == "1e+16");
  CHECK(scalar_tensor(9.9e15, Options(kFloat64)).str() == "9900000000000000.0");
  CHECK(scalar_tensor(2.5e-10f).str() == "2.5e-10");
  CHECK(scalar_tensor(1.0 / 3, Options(kFloat64)).str() == "0.3333333333333333");
  CHECK(scalar_tensor(12345.678f).str() == "12345.678");
  CHECK(scalar_tensor(-0.0f).str() == "-0.0");
  CHECK(scalar_tensor(0.0f).str() == "0.0");
  CHECK(scalar_tensor(NAN).str() == "nan");
  CHECK(scalar_tensor(-INFINITY).str() == "-inf");
  CHECK(scalar_tensor(false).str() == "False");
  CHECK(scalar_tensor(-5, Options(kInt32)).str() == "-5");
  CHECK(scalar_tensor(200, Options(kUInt8)).str() == "200");
  CHECK(tensor({1.f, 2.f}).sum().str() == "3.0");
}

TEST_CASE("long rows wrap at 75 columns", "[print]") {
  CHECK(arange(30, Options(kFloat32)).str() ==
        "[ 0.  1.  2.  3.  4.  5.  6.  7.  8.  9. 10. 11. 12. 13. 14. 15. 16. 17.\n"
        " 18. 19. 20. 21. 22. 23. 24. 25. 26. 27. 28. 29.]");
  CHECK(arange(19, Options(kFloat32)).str() ==
        "[ 0.  1.  2.  3.  4.  5.  6.  7.  8.  9. 10. 11. 12. 13. 14. 15. 16. 17.\n"
        " 18.]");
  CHECK((arange(18, Options(kFloat32)) + 0.5).str() ==
        "[ 0.5  1.5  2.5  3.5  4.5  5.5  6.5  7.5  8.5  9.5 10.5 11.5 12.5 13.5\n"
        " 14.5 15.5 16.5 17.5]");
  CHECK((arange(26, Options(kFloat32)) * 1.5).str() ==
        "[ 0.   1.5  3.   4.5  6.   7.5  9.  10.5 12.  13.5 15.  16.5 18.  19.5\n"
        " 21.  22.5 24.  25.5 27.  28.5 30.  31.5 33.  34.5 36.  37.5]");
  CHECK((arange(40) * 1000).str() ==
        "[    0  1000  2000  3000  4000  5000  6000  7000  8000  9000 10000 11000\n"
        " 12000 13000 14000 15000 16000 17000 18000 19000 20000 21000 22000 23000\n"
        " 24000 25000 26000 27000 28000 29000 30000 31000 32000 33000 34000 35000\n"
        " 36000 37000 38000 39000]");
  CHECK(arange(60, Options(kFloat32)).reshape({2, 30}).str() ==
        "[[ 0.  1.  2.  3.  4.  5.  6.  7.  8.  9. 10. 11. 12. 13. 14. 15. 16. 17.\n"
        "  18. 19. 20. 21. 22. 23. 24. 25. 26. 27. 28. 29.]\n"
        " [30. 31. 32. 33. 34. 35. 36. 37. 38. 39. 40. 41. 42. 43. 44. 45. 46. 47.\n"
        "  48. 49. 50. 51. 52. 53. 54. 55. 56. 57. 58. 59.]]");
  CHECK((arange(48).reshape({2, 2, 12}) * 100).str() ==
        "[[[   0  100  200  300  400  500  600  700  800  900 1000 1100]\n"
        "  [1200 1300 1400 1500 1600 1700 1800 1900 2000 2100 2200 2300]]\n"
        "\n"
        " [[2400 2500 2600 2700 2800 2900 3000 3100 3200 3300 3400 3500]\n"
        "  [3600 3700 3800 3900 4000 4100 4200 4300 4400 4500 4600 4700]]]");
  // nesting narrows the line by one column per level (NumPy's _formatArray)
  CHECK((arange(20).reshape({1, 1, 20}) * 1000000).str() ==
        "[[[       0  1000000  2000000  3000000  4000000  5000000  6000000\n"
        "    7000000  8000000  9000000 10000000 11000000 12000000 13000000\n"
        "   14000000 15000000 16000000 17000000 18000000 19000000]]]");
  CHECK((arange(12).reshape({1, 12}) * 1234567).str() ==
        "[[       0  1234567  2469134  3703701  4938268  6172835  7407402  8641969\n"
        "   9876536 11111103 12345670 13580237]]");
  CHECK((arange(25).reshape({1, 25}) * 1000000).str() ==
        "[[       0  1000000  2000000  3000000  4000000  5000000  6000000  7000000\n"
        "   8000000  9000000 10000000 11000000 12000000 13000000 14000000 15000000\n"
        "  16000000 17000000 18000000 19000000 20000000 21000000 22000000 23000000\n"
        "  24000000]]");
}

TEST_CASE("more than 1000 elements are summarised with ...", "[print]") {
  CHECK(arange(2000, Options(kFloat32)).str() ==
        "[0.000e+00 1.000e+00 2.000e+00 ... 1.997e+03 1.998e+03 1.999e+03]");
  CHECK(arange(2000).str() == "[   0    1    2 ... 1997 1998 1999]");
  CHECK(arange(2500).reshape({50, 50}).str() ==
        "[[   0    1    2 ...   47   48   49]\n"
        " [  50   51   52 ...   97   98   99]\n"
        " [ 100  101  102 ...  147  148  149]\n"
        " ...\n"
        " [2350 2351 2352 ... 2397 2398 2399]\n"
        " [2400 2401 2402 ... 2447 2448 2449]\n"
        " [2450 2451 2452 ... 2497 2498 2499]]");
  CHECK((arange(1100, Options(kFloat32)) / 10).reshape({2, 550}).str() ==
        "[[0.000e+00 1.000e-01 2.000e-01 ... 5.470e+01 5.480e+01 5.490e+01]\n"
        " [5.500e+01 5.510e+01 5.520e+01 ... 1.097e+02 1.098e+02 1.099e+02]]");
  // summarised rows that also wrap
  CHECK((arange(3000, Options(kFloat32)).reshape({3, 1000}) / 7).str() ==
        "[[0.0000000e+00 1.4285715e-01 2.8571430e-01 ... 1.4242857e+02\n"
        "  1.4257143e+02 1.4271428e+02]\n"
        " [1.4285715e+02 1.4300000e+02 1.4314285e+02 ... 2.8528571e+02\n"
        "  2.8542856e+02 2.8557144e+02]\n"
        " [2.8571429e+02 2.8585715e+02 2.8600000e+02 ... 4.2814285e+02\n"
        "  4.2828571e+02 4.2842856e+02]]");
  CHECK(arange(1000).str().find("...") == std::string::npos);  // exactly 1000: not summarised
}

TEST_CASE("non-contiguous tensors print in logical order", "[print]") {
  Tensor m = arange(6, Options(kFloat32)).reshape({2, 3});
  CHECK(m.T().str() == "[[0. 3.]\n [1. 4.]\n [2. 5.]]");
  CHECK(m.select(1, 1).str() == "[1. 4.]");
  CHECK(tensor({1.f, 2.f}).expand({2, 2}).str() == "[[1. 2.]\n [1. 2.]]");
}

TEST_CASE("repr and operator<<", "[print]") {
  Tensor x = tensor({2.7f, 4.7f, 6.7f});
  CHECK(x.repr() == "tensor([2.7 4.7 6.7], shape=(3,), dtype=float32, device=cpu)");
  CHECK(scalar_tensor(7).repr() == "tensor(7, shape=(), dtype=int64, device=cpu)");
  CHECK(arange(4, Options(kFloat64)).reshape({2, 2}).repr() ==
        "tensor([[0. 1.]\n"
        "        [2. 3.]], shape=(2, 2), dtype=float64, device=cpu)");
  CHECK(arange(8).reshape({2, 2, 2}).repr() ==
        "tensor([[[0 1]\n"
        "         [2 3]]\n"
        "\n"
        "        [[4 5]\n"
        "         [6 7]]], shape=(2, 2, 2), dtype=int64, device=cpu)");
  Tensor g = tensor({1.f}, Options().with_grad());
  CHECK(g.repr() == "tensor([1.], shape=(1,), dtype=float32, device=cpu, requires_grad=true)");
  std::ostringstream os;
  os << x;
  CHECK(os.str() == "[2.7 4.7 6.7]");
  CHECK(Tensor().str() == "[undefined]");
}
