// summary() rows of every layer issue 12 lists: output shapes (channels-first where Keras
// would print channels-last) and parameter counts, by Keras's formulas:
//   Conv2D kh*kw*in*f + f; DepthwiseConv2D kh*kw*in*dm + in*dm; Conv2DTranspose kh*kw*f*in + f;
//   Conv1D k*in*f + f; BatchNormalization 4*C (2*C non-trainable); LayerNormalization 2*F;
//   Embedding n*d; GRU (reset_after=True) 3*(u*(d+u) + 2u); MultiHeadAttention
//   3*(E*H*D + H*D) + H*D*E + E; Bidirectional twice its layer.
// LSTM and SimpleRNN keep PyTorch's two bias vectors (torch / ONNX weight compatibility), so
// their counts are Keras's plus one extra bias: LSTM 4*(u*(d+u) + u) + 4u, SimpleRNN
// u*(d+u) + u + u. The rows are laid out as Keras's print_row (columns 29, 55, 65).
#include <catch2/catch.hpp>

#include <string>

#include "nn/nn.h"
#include "training/training.h"

using namespace tapeflow;

namespace {
std::string fit(std::string s, size_t width) {
  if (s.size() > width - 1) s = s.substr(0, width - 1);
  return s + std::string(width - s.size(), ' ');
}
// One Keras summary row: "name (Type)" in 29 columns, the shape in 26, the count in 10.
std::string row(const std::string& name_type, const std::string& shape, long count) {
  return fit(name_type, 29) + fit(shape, 26) + fit(std::to_string(count), 11).substr(0, 10);
}
}  // namespace

TEST_CASE("summary rows: the convolution, pooling and normalisation layers", "[layers][summary]") {
  nn::Sequential m;
  m.add(nn::Conv2D(8, 3, nn::Conv2DOptions().padding("same")));
  m.add(nn::DepthwiseConv2D(3, 2));
  m.add(nn::BatchNormalization());
  m.add(nn::MaxPooling2D(2));
  m.add(nn::ZeroPadding2D(1));
  m.add(nn::AveragePooling2D(3, nn::PoolOptions().strides(2)));
  m.add(nn::Conv2DTranspose(4, 3, nn::Conv2DOptions().strides(2)));
  m.add(nn::GlobalAveragePooling2D());
  m.build(Shape{3, 16, 16});
  std::string s = m.summary_string();
  INFO(s);
  CHECK_THAT(s, Catch::Contains(row("conv2d (Conv2D)", "(None, 8, 16, 16)", 3 * 3 * 3 * 8 + 8)));
  CHECK_THAT(s, Catch::Contains(row("depthwise_conv2d (DepthwiseConv2D)", "(None, 16, 14, 14)", 3 * 3 * 8 * 2 + 16)));
  CHECK_THAT(s, Catch::Contains(row("batch_normalization (BatchNormalization)", "(None, 16, 14, 14)", 4 * 16)));
  CHECK_THAT(s, Catch::Contains(row("max_pooling2d (MaxPooling2D)", "(None, 16, 7, 7)", 0)));
  CHECK_THAT(s, Catch::Contains(row("zero_padding2d (ZeroPadding2D)", "(None, 16, 9, 9)", 0)));
  CHECK_THAT(s, Catch::Contains(row("average_pooling2d (AveragePooling2D)", "(None, 16, 4, 4)", 0)));
  CHECK_THAT(s, Catch::Contains(row("conv2d_transpose (Conv2DTranspose)", "(None, 4, 9, 9)", 3 * 3 * 4 * 16 + 4)));
  CHECK_THAT(s, Catch::Contains(row("global_average_pooling2d (GlobalAveragePooling2D)", "(None, 4)", 0)));
  CHECK_THAT(s, Catch::Contains("Total params: 1,028"));
  CHECK_THAT(s, Catch::Contains("Trainable params: 996"));
  CHECK_THAT(s, Catch::Contains("Non-trainable params: 32"));

  nn::Sequential one;
  one.add(nn::Conv1D(4, 3));
  one.add(nn::MaxPooling1D(2));
  one.add(nn::AveragePooling1D(2, nn::PoolOptions().strides(1).padding("same")));
  one.add(nn::Permute({2, 1}));
  one.add(nn::Reshape({3, 2, 2}));
  one.add(nn::GlobalMaxPooling2D());
  one.build(Shape{6, 8});
  std::string t = one.summary_string();
  INFO(t);
  CHECK_THAT(t, Catch::Contains(row("conv1d (Conv1D)", "(None, 4, 6)", 3 * 6 * 4 + 4)));
  CHECK_THAT(t, Catch::Contains(row("max_pooling1d (MaxPooling1D)", "(None, 4, 3)", 0)));
  CHECK_THAT(t, Catch::Contains(row("average_pooling1d (AveragePooling1D)", "(None, 4, 3)", 0)));
  CHECK_THAT(t, Catch::Contains(row("permute (Permute)", "(None, 3, 4)", 0)));
  CHECK_THAT(t, Catch::Contains(row("reshape (Reshape)", "(None, 3, 2, 2)", 0)));
  CHECK_THAT(t, Catch::Contains(row("global_max_pooling2d (GlobalMaxPooling2D)", "(None, 3)", 0)));
  CHECK_THAT(t, Catch::Contains("Total params: 76"));
}

TEST_CASE("summary rows: the embedding, recurrent and attention layers", "[layers][summary]") {
  nn::Sequential m;
  m.add(nn::Embedding(50, 8));
  m.add(nn::Bidirectional(std::make_shared<nn::LSTM>(6, nn::RNNOptions().return_sequences(true))));
  m.add(nn::GRU(5, nn::RNNOptions().return_sequences(true)));
  m.add(nn::SimpleRNN(4, nn::RNNOptions().return_sequences(true)));
  m.add(nn::LayerNormalization());
  m.add(nn::MultiHeadAttention(2, 3));
  m.add(nn::TransformerEncoderLayer(4, 2, 8));
  m.add(nn::LSTM(3));
  m.add(nn::RepeatVector(2));
  m.build(Shape{7});
  std::string s = m.summary_string();
  INFO(s);
  const long lstm6 = 4 * (6 * (8 + 6) + 6) + 4 * 6;  // Keras 4*(u*(d+u)+u) = 360, + PyTorch's second bias
  CHECK_THAT(s, Catch::Contains(row("embedding (Embedding)", "(None, 7, 8)", 50 * 8)));
  CHECK_THAT(s, Catch::Contains(row("bidirectional (Bidirectional)", "(None, 7, 12)", 2 * lstm6)));
  CHECK_THAT(s, Catch::Contains(row("gru (GRU)", "(None, 7, 5)", 3 * (5 * (12 + 5) + 2 * 5))));
  CHECK_THAT(s, Catch::Contains(row("simple_rnn (SimpleRNN)", "(None, 7, 4)", 4 * (5 + 4) + 4 + 4)));
  CHECK_THAT(s, Catch::Contains(row("layer_normalization (LayerNormalization)", "(None, 7, 4)", 2 * 4)));
  CHECK_THAT(s, Catch::Contains(row("multi_head_attention (MultiHeadAttention)", "(None, 7, 4)",
                                    3 * (4 * 2 * 3 + 2 * 3) + 2 * 3 * 4 + 4)));
  // attention (key_dim 4 / 2 = 2): 3 * (4*2*2 + 4) + 4*4 + 4; feed-forward 4*8 + 8 + 8*4 + 4; 2 norms.
  CHECK_THAT(s, Catch::Contains(row("transformer_encoder_layer (TransformerEncoderLayer)", "(None, 7, 4)",
                                    80 + 76 + 16)));
  CHECK_THAT(s, Catch::Contains(row("lstm (LSTM)", "(None, 3)", 4 * (3 * (4 + 3) + 3) + 4 * 3)));
  CHECK_THAT(s, Catch::Contains(row("repeat_vector (RepeatVector)", "(None, 2, 3)", 0)));
}
