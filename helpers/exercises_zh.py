"""The Chinese (中文) catalogue of the exercise checkers' messages and hints.

Keyed by the English text that :mod:`helpers.exercises` passes to :func:`helpers.i18n.localized`
(templates keep their ``{fields}``). Terms follow ``notebooks/00_glossary.md``: the book's term
where the book has one (过滤器, 特征图, 偏置, 梯度上升, 标准化, 热力图 …). Numbers and code
identifiers are those of the English. The hint policy holds in both languages: a hint guides (a
question, or a pointer to the cell to re-read) and never contains the solution; a generic hint that
asks a question in English asks it in Chinese too (``？``), one that starts with "Re-read" starts
with 重读, and a statement stays a statement (the checker then shows its own question instead).

Taught in: every exercise of the Chinese edition (``notebooks/zh/``).
"""

from __future__ import annotations

__all__ = ["CATALOGUE"]

CATALOGUE: dict[str, str] = {
    # ------------------------------------------------------------------ the machinery (every checker)
    "✅ Correct. ": "✅ 正确。",
    "❌ Not yet. ": "❌ 还不对。",
    "Replace `raise NotImplementedError` with your code, then run this cell again.":
        "把 `raise NotImplementedError` 换成你的代码，然后重新运行这个单元格。",
    "Pass your function itself (its name, without parentheses), not a {type}.":
        "请传入函数本身（只写函数名，不加括号），而不是一个 {type}。",
    "Your function raised {name}: {error}": "你的函数抛出了 {name}：{error}",
    "Your function returned None: did you forget `return`?": "你的函数返回了 None：是不是忘了写 `return`？",
    "Your function gives the right result on all {n} test cases.": "你的函数在全部 {n} 个测试用例上都给出了正确结果。",
    "Which quantity does the exercise ask for, and over which axes? Re-read {where}, then compare it with your code "
    "one step at a time.":
        "练习要求的是哪个量？在哪些轴上计算？请重读{where}，再逐步与你的代码对照。",
    "the text just above this exercise": "这道练习正上方的说明",
    "Your function returned a {type}, which is not a number or an array of numbers. ":
        "你的函数返回了一个 {type}，它既不是数值，也不是数值数组。",
    "Your result has shape {got}; the expected result has shape {want}. ":
        "你的结果形状是 {got}，而应有的结果形状是 {want}。",
    "Your result has shape {got}; the expected result has shape {want} (the same axes in another order?). ":
        "你的结果形状是 {got}，而应有的结果形状是 {want}（是不是同样的轴换了顺序？）。",
    "Your result contains NaN or infinite values: is there a division by zero, or a mean of an empty slice? ":
        "你的结果含有 NaN 或无穷大：是不是除以了零，或者对空切片求了均值？",
    "Your function returns only zeros: does it use its inputs? ": "你的函数只返回零：它用到输入了吗？",
    "Your function returns 0: does it use its inputs? ": "你的函数返回 0：它用到输入了吗？",
    "Your result has the right size but the opposite sign: which term comes first, and in which direction? ":
        "你的结果大小对了，符号却相反：哪一项在前？方向朝哪边？",
    "Your result has the right values in the wrong orientation: which axis is which? ":
        "你的结果数值都对，但排列方向错了：哪个轴是哪个？",
    "Your result is the same number everywhere: which part of the input should make it vary? ":
        "你的结果处处是同一个数：输入的哪一部分应当让它变化？",
    "Your result is proportional to the right one, off by a constant factor: which step sets the scale? ":
        "你的结果与正确结果成正比，只差一个常数因子：是哪一步决定了尺度？",

    # ------------------------------------------------------------------ 1.1 feature_map_side
    "A 3 × 3 'valid' convolution has no position for the outermost pixel row and column on each side: it shrinks the "
    "map before the pooling halves it.":
        "3 × 3 的 'valid' 卷积在每一侧最外面的一行和一列像素上没有位置可放："
        "在池化把边长减半之前，卷积已经让特征图变小了。",
    "Pooling 2 × 2 drops a last odd row or column: the side stays a whole number after every halving.":
        "2 × 2 池化会丢掉多出来的最后一行或一列：每次减半之后，边长仍是整数。",
    "A 3 × 3 'valid' convolution loses one pixel on *each* side.": "3 × 3 的 'valid' 卷积在*每*一侧都少一个像素。",
    "Each block ends with a 2 × 2 max pooling, which halves the side.": "每个块都以 2 × 2 最大池化结束，它使边长减半。",
    "Follow one block at a time on Step 1's table: what does the convolution do to 150, and what does the pooling "
    "do to the result?":
        "对照第 1 步的表格，一次只看一个块：卷积把 150 变成了多少？池化又把这个结果变成了多少？",

    # ------------------------------------------------------------------ 1.2 dense_params
    "Each of the 512 units also has a bias.": "512 个单元中的每一个还各有一个偏置。",
    "The flattened vector holds every position of every channel of the last pooling layer.":
        "展平后的向量包含最后一个池化层每个通道的每个位置。",
    "The flattened vector holds every channel at every position of the last pooling layer, not one number per "
    "channel.":
        "展平后的向量包含最后一个池化层每个位置上的每个通道，而不是每个通道只有一个数。",
    "Did you follow the side through the convolutions too, not only the poolings? Step 1's table shows where 150 "
    "pixels end up.":
        "你是否也跟踪了边长经过卷积时的变化，而不只是池化？第 1 步的表格显示了 150 个像素最后变成多少。",
    "The side is a whole number after every pooling: exercise 1.1's function gives it.":
        "每次池化之后边长都是整数：练习 1.1 的函数可以算出它。",
    "`dense_1` alone: the question leaves the other layers out.": "只算 `dense_1`：题目不包括其他层。",
    "Which array does `dense_1` read, and how many numbers does it hold for this image size? Step 1's table answers "
    "both for 150 pixels, and its explanation says how a dense layer's count follows.":
        "`dense_1` 读取的是哪个数组？对这个图像尺寸，它含有多少个数？第 1 步的表格对 150 像素回答了这两个问题，"
        "表格下的说明讲了全连接层的参数个数由此怎样得出。",

    # ------------------------------------------------------------------ 1.3 layer_sparsity
    "This is still the classmate's version: its first share is right, its second is not. For "
    "`maps[\"conv2d_2\"]`, print the shape of the boolean array it averages: does one entry stand for a channel or "
    "for a position?":
        "这仍是那位同学的版本：第一个占比是对的，第二个不对。对 `maps[\"conv2d_2\"]` 打印它求平均的布尔数组的形状："
        "其中一个元素代表的是一个通道，还是一个位置？",
    "You measured the share of *non-zero* activations: count the zeros.": "你算的是*非零*激活值的占比：应当数零。",
    "Give shares between 0 and 1, not percentages.": "请给出 0 到 1 之间的占比，而不是百分数。",
    "A blank channel is zero at every position of its map, not at some position.":
        "全零通道是在其特征图的每个位置上都为零，而不是在某个位置上为零。",
    "Return the zero share first, then the blank-channel share.": "先返回零值占比，再返回全零通道占比。",
    "Run your function on `maps[\"conv2d_2\"]` and compare both shares with Step 7's grid of that layer: which of the "
    "two disagrees with the picture?":
        "在 `maps[\"conv2d_2\"]` 上运行你的函数，把两个占比与第 7 步中该层的网格图对照：哪一个与图不符？",

    # ------------------------------------------------------------------ 2.1 filter_loss
    "Leave the border out: drop `border` rows and columns on *every* side before averaging.":
        "去掉边框：求平均之前，在*每*一侧去掉 `border` 行和同样多的列。",
    "Average one channel only, the filter's own.": "只对一个通道求平均，即这个过滤器自己的通道。",
    "With border=0 your slice is empty: what does `a[0:-0]` contain? Try it.":
        "border=0 时你的切片是空的：`a[0:-0]` 里有什么？试一试。",
    "The loss is the mean, not the sum: the sum grows with the size of the image.":
        "损失是均值，不是总和：总和会随图像尺寸增大。",
    "Re-read section 1's loss cell: which positions and which channel does it average? Here the border is an "
    "argument instead of 2.":
        "重读第 1 节计算损失的单元格：它对哪些位置、哪个通道求平均？这里边框宽度是一个参数，而不是 2。",

    # ------------------------------------------------------------------ 2.2 ascent_step
    "This is still the classmate's version: its steps are much smaller than step_size grey levels. How does its "
    "divisor change when the image has more pixels? Compare it with section 2's normalization.":
        "这仍是那位同学的版本：它的步子远小于 step_size 个灰度级。图像像素变多时，它的除数怎样变化？"
        "请与第 2 节的标准化对照。",
    "Gradient *ascent*: the step goes up the gradient, not down.": "梯度*上升*：这一步要沿梯度向上走，而不是向下。",
    "Normalize the gradient first: its raw size changes by orders of magnitude during the ascent (section 2).":
        "先把梯度标准化：在上升过程中，梯度本身的大小会变化好几个数量级（第 2 节）。",
    "A zero gradient must not give NaN: what keeps section 2's division finite?":
        "梯度为零时不能得到 NaN：第 2 节的除法靠什么保持有限？",
    "Compare your step with section 3's formula term by term: which way does it move the image, and what is the "
    "gradient divided by?":
        "把你的这一步与第 3 节的公式逐项对照：它把图像往哪个方向移动？梯度除以的是什么？",

    # ------------------------------------------------------------------ 2.3 silent_filters
    "Judge the interior only, the part the loss measures: a filter that fires only in the border has zero gradient "
    "too.":
        "只看内部，也就是损失所度量的部分：只在边框里激活的过滤器，梯度同样为零。",
    "Return the *silent* filters (all zeros), not the ones that fire.":
        "返回*静默*的过滤器（全为零），而不是激活的那些。",
    "A filter is silent when it is zero at *every* position, not at some position.":
        "过滤器静默，是指它在*每个*位置上都为零，而不是在某个位置上为零。",
    "Which positions does the loss look at (section 1), and what must be true of a filter there for its gradient to "
    "be zero (section 5)? The result is a list of filter numbers.":
        "损失看的是哪些位置（第 1 节）？过滤器在这些位置上满足什么条件时，它的梯度为零（第 5 节）？"
        "结果是一串过滤器编号。",

    # ------------------------------------------------------------------ 3.1 class_score
    "Global *average* pooling: the mean of each map, not its sum.": "全局*平均*池化：取每张特征图的均值，而不是总和。",
    "Add the class's bias.": "加上这个类别的偏置。",
    "The score is before the softmax (the logit), not a probability.": "分数取 softmax 之前的值（logit），而不是概率。",
    "Global average pooling, not global max pooling.": "是全局平均池化，不是全局最大池化。",
    "Re-read the formula under 'The class score is a weighted sum of map means': which of its parts does your "
    "function compute differently? Try it on section 1's A, W, b and c and compare with the logit printed there.":
        "重读“类别分数是特征图均值的加权和”下面的公式：你的函数在哪一部分算得不一样？"
        "用第 1 节的 A、W、b 和 c 试一试，再与那里打印的 logit 对照。",

    # ------------------------------------------------------------------ 3.2 grad_cam_map
    "Still the bug of the given function: its weights are averaged over the channels, so every channel gets the same "
    "weight at a position. What should one weight α_k stand for: a channel, or a position?":
        "给出的函数里的错误还在：它的权重是在通道上求平均的，于是在同一位置上每个通道的权重都相同。"
        "一个权重 α_k 应当代表什么：一个通道，还是一个位置？",
    "Your map has negative values: keep only the positive evidence (the ReLU) before normalizing.":
        "你的热力图有负值：归一化之前只保留正的证据（ReLU）。",
    "Your map keeps negative values after the division: the ReLU comes before it.":
        "你的热力图在除法之后仍有负值：ReLU 应在除法之前。",
    "Divide by the maximum, so that the map ends at 1.": "除以最大值，使热力图的最大值为 1。",
    "Keep the sign of the gradients: a channel whose gradient is negative argues against the class.":
        "保留梯度的符号：梯度为负的通道是反对这个类别的证据。",
    "Compare your function, line by line, with the 'Grad-CAM by hand' cell of section 2: over which axes is each "
    "average taken, and what shape does each intermediate result have?":
        "把你的函数与第 2 节“手算 Grad-CAM”的单元格逐行对照：每个平均是在哪些轴上取的？每个中间结果是什么形状？",

    # ------------------------------------------------------------------ 3.3 grad_cam_fixed
    "Your map is the same as the given function's: it still differentiates the probability (or its logarithm, which "
    "gives the same map once normalized). Which number does the formula of section 2 differentiate?":
        "你的热力图与给出的函数的一样：它仍是对概率求导（或对概率的对数求导，归一化后得到同一张图）。"
        "第 2 节的公式是对哪个数求导的？",
    "Compare your function with the 'Grad-CAM by hand' cell of section 2, step by step: which score does it "
    "differentiate, for which class, and over which axes does it average?":
        "把你的函数与第 2 节“手算 Grad-CAM”的单元格逐步对照：它对哪个分数求导？针对哪个类别？在哪些轴上求平均？",

    # ------------------------------------------------------------------ 4.1 energy_share
    "Divide by the mass of the whole map, not by the number of pixels inside the mask.":
        "除以整张热力图的总量，而不是掩码内的像素个数。",
    "That is the share of the *image* the object covers: weigh each pixel by the heatmap.":
        "这是物体在*图像*中所占的面积比例：应当用热力图给每个像素加权。",
    "Divide by the whole map's mass, not by the mass outside the object.":
        "除以整张热力图的总量，而不是物体以外的总量。",
    "Re-read the table's \"energy in mask\" line: a share of what, and which part of it lies on the object?":
        "重读表格中“掩码内能量占比”那一行：是什么的占比？其中哪一部分落在物体上？",

    # ------------------------------------------------------------------ 4.2 ig_bound
    "Can the three colours' terms cancel? Only if the gradients' signs are known, and they are not: bound each "
    "colour's term on its own.":
        "三种颜色的项能相互抵消吗？只有知道梯度的符号时才能，而这里并不知道：要对每种颜色的项分别求界。",
    "A pixel's attribution adds the terms of all its colours: how many terms does the bound need?":
        "一个像素的归因是它所有颜色的项相加：这个界需要几项？",
    "The path starts at the baseline, not at black: what multiplies the mean gradient in the formula?":
        "路径从基线出发，而不是从黑色出发：公式中与平均梯度相乘的是什么？",
    "Where does the largest gradient enter your bound?": "最大梯度在你的界中出现在哪里？",
    "Re-read the Integrated Gradients formula: for one pixel, which factors can be bounded without running the "
    "model, and by what?":
        "重读积分梯度的公式：对一个像素，哪些因子不运行模型就能求界？各用什么来界定？",

    # ------------------------------------------------------------------ 4.3 integrated_gradients
    "This is what the given function computes: test its completeness with a grey baseline (the cell above the "
    "exercise). Which image is on the path at α = 0?":
        "这正是给出的函数算出的结果：用灰色基线检验它的完备性（练习上方的单元格）。α = 0 时路径上是哪张图像？",
    "Image times gradient is not measured from the baseline: is Σ of your attributions still y(x) − y(x′) with the "
    "grey baseline?":
        "图像乘梯度并不是从基线量起的：用灰色基线时，你的归因之和 Σ 还等于 y(x) − y(x′) 吗？",
    "Which α does the formula's sum use for its k-th point? Re-read the formula cell.":
        "公式中的求和在第 k 个点用的是哪个 α？请重读公式所在的单元格。",
    "Does Σ of your attributions equal y(x) − y(x′) for the toy score with a grey baseline (the cell above)? If not, "
    "compare your function line by line with the formula cell.":
        "对玩具分数、用灰色基线时，你的归因之和 Σ 等于 y(x) − y(x′) 吗（见上方单元格）？"
        "如果不等，请把你的函数与公式所在的单元格逐行对照。",
    "gradient_fn takes a batch of images (m, {shape}); got shape {got}.":
        "gradient_fn 接受一批图像，形状为 (m, {shape})；收到的形状是 {got}。",

    # ------------------------------------------------------------------ 5.1 cell_ceiling
    "That is the cue's share of the whole image: what a map spread evenly over every pixel would give. A coarse map "
    "can do better: where would you pour all of its mass?":
        "这是线索在整张图像中所占的比例：一张均匀铺满所有像素的热力图会给出这个值。粗糙的热力图可以做得更好："
        "你会把它的全部总量倒在哪里？",
    "That is a number of pixels, not a share: a share lies between 0 and 1.":
        "这是像素个数，不是占比：占比在 0 和 1 之间。",
    "That averages over the cells that touch the cue; the best map puts all of its mass into a single cell. Which "
    "one?":
        "这是对碰到线索的各个格子求了平均；最好的热力图会把全部总量放进一个格子。放进哪一个？",
    "That is the share of the cue that one cell covers; the question is the other way round: what share of one "
    "cell's mass lands on the cue?":
        "这是一个格子覆盖线索的比例；题目问的恰好相反：一个格子的总量中有多大比例落在线索上？",
    "Imagine a map that puts all of its mass into one cell, spread evenly over that cell's pixels: what share of it "
    "lands on the cue, and which cell makes that share largest? Section 2's paragraph on Grad-CAM's cells may help.":
        "设想一张热力图把全部总量放进一个格子，并均匀分布在这个格子的像素上：其中多大比例落在线索上？"
        "哪个格子使这个比例最大？第 2 节讲 Grad-CAM 格子的那一段也许有帮助。",

    # ------------------------------------------------------------------ 5.2 uninformative_agreement
    "A tag that is never right still informs: its colour rules one class out. Which agreement makes every colour as "
    "likely as every other, whatever the shape?":
        "从不正确的标记仍然携带信息：它的颜色排除了一个类别。一致率取多少时，无论是什么形状，每种颜色出现的可能性都相同？",
    "Half right is far from useless: a model that trusts the tag wins half the time, more than by guessing.":
        "对一半绝非无用：信任标记的模型有一半时候能答对，比随机猜测要好。",
    "That is where the tag gives the answer away.": "在这个值上，标记直接泄露了答案。",
    "Close: count the label's own colour among the colours too.": "很接近了：别忘了把标签本身的颜色也算进去。",
    "The tag is useless when, for every shape, every colour is equally likely. `helpers.tag_information(agreement)` "
    "measures how many bits a tag still carries.":
        "当对每种形状而言每种颜色的可能性都相同时，标记就毫无用处。`helpers.tag_information(agreement)` "
        "可以度量一个标记还携带多少比特的信息。",

    # ------------------------------------------------------------------ 5.3 model_contrast
    "The sign is reversed: the shape model's share comes first.": "符号反了：形状模型的占比在前。",
    "Use each heatmap's share of mass on the shape, not its mean value on the shape.":
        "用每张热力图落在形状上的总量占比，而不是它在形状上的平均值。",
    "Take the share per image, then average over the images: every image counts the same.":
        "先逐张图像求占比，再对图像求平均：每张图像的分量相同。",
    "The score is a difference of the two models' shares, not a ratio.": "这个分数是两个模型占比之差，而不是比值。",
    "Re-read the definition of the contrast above the table of every method: which two numbers does it subtract, and "
    "what is each one averaged over?":
        "重读列出所有方法的表格上方对模型对比分数的定义：它是哪两个数相减？每个数又是对什么求平均？",
    # 06_xray
    "A channel's weight alone does not say what it adds: how strongly did it fire on this image?":
        '只看通道的权重说明不了它贡献了多少：它在这张图像上激活有多强？',
    'A strongly firing channel can push the logit down: what does its weight do to its contribution?':
        '强烈激活的通道也可能压低 logit：它的权重对贡献有什么作用？',
    'Largest first: your order is the reverse.':
        '从大到小排列：你的顺序正好相反。',
    'Rank the contributions themselves, signed: a large negative one pulls the logit down, it does not help the class.':
        '按带符号的贡献排序：一个很大的负贡献会拉低 logit，并不帮助这个类别。',
    'Which number does each channel add to the logit? Re-read the cell on the exact decomposition, '
    'compute that number per channel, then sort.':
        '每个通道给 logit 加了多少？重读“精确分解”那一格，逐通道算出这个数，再排序。',
    'Sum over the positions: a mean divides the estimate by the number of positions.':
        '对各位置求和：取平均会把估计值除以位置数。',
    "That is Grad-CAM's weight times the mean activation: the product must be taken position by position,"
    ' before adding up.':
        '这是 Grad-CAM 权重乘以平均激活：应当先逐位置相乘，再求和。',
    'The gradient alone says how sensitive the score is, not how much the channel gave: multiply by the activation.':
        '梯度本身只说明分数有多敏感，不说明通道贡献了多少：请乘以激活。',
    'One number per channel: add up over the two position axes only.':
        '每个通道一个数：只在两个位置轴上求和。',
    'What does a first-order Taylor term look like for one position? Re-read the cell on other heads, '
    'then add those terms up per channel.':
        '对一个位置来说，一阶泰勒项是什么样子？重读“其他输出头”那一格，再逐通道把这些项加起来。',
    'Neighbouring positions are `jump` input pixels apart, not one.':
        '相邻位置在输入上相隔 `jump` 个像素，而不是一个。',
    "`start + jump × index` is the window's centre, not its top-left corner.":
        '`start + jump × index` 是窗口的中心，不是左上角。',
    'Rows first, then columns: check which index goes with which axis.':
        '先行后列：检查哪个下标对应哪个轴。',
    "Where is the window's centre for this position, and how far is its top edge from the centre? Re-read"
    ' the cell on the top-9 patches.':
        '这个位置的窗口中心在哪里？窗口上边缘离中心多远？重读“前 9 个图块”那一格。',
}
"""{English message or hint: its Chinese}; registered by :mod:`helpers.exercises` on import."""
