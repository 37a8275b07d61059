// A 4-ary min-heap: shallower than a binary heap and cache-friendlier, which
// matters because every simulated instruction passes through it. T needs a
// `key()` returning an unsigned 128-bit priority (smaller first); comparing
// one integer lets the compiler pick children without branches.
#pragma once

#include <utility>
#include <vector>

namespace trnx {

template <typename T> class EventHeap {
public:
  bool empty() const { return items_.empty(); }
  size_t size() const { return items_.size(); }
  const T &top() const { return items_.front(); }

  void push(const T &item) {
    size_t i = items_.size();
    items_.push_back(item);
    while (i > 0) {
      size_t parent = (i - 1) / 4;
      if (!(items_[i].key() < items_[parent].key()))
        break;
      std::swap(items_[i], items_[parent]);
      i = parent;
    }
  }

  T pop() {
    T result = items_.front();
    T last = items_.back();
    items_.pop_back();
    const size_t n = items_.size();
    if (n == 0)
      return result;
    size_t i = 0;
    while (true) {
      size_t first = 4 * i + 1;
      if (first >= n)
        break;
      size_t best = first;
      unsigned __int128 bestKey = items_[first].key();
      const size_t end = first + 4 < n ? first + 4 : n;
      for (size_t c = first + 1; c < end; ++c) {
        const unsigned __int128 k = items_[c].key();
        const bool smaller = k < bestKey;
        best = smaller ? c : best;
        bestKey = smaller ? k : bestKey;
      }
      if (!(bestKey < last.key()))
        break;
      items_[i] = items_[best];
      i = best;
    }
    items_[i] = last;
    return result;
  }

private:
  std::vector<T> items_;
};

} // namespace trnx
