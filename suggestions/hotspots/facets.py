"""What a report is about, as a short list of problem facets: the thing at fault (电梯, 暖气, 路灯) or the kind of
trouble (欠薪, 油烟, 占道经营).

Two reports of one place can share most of their characters and still be two problems: a heating pipe leaking and
low water pressure in one building, shared bikes and unlicensed taxis at one station exit, night piling on a site
and a basketball court's noise at one estate. The characters they share (水, 楼, 晚上, 车) say little; the facet
says what the problem is. `similarity.signature` records the facets a report's opening names, and `cases` weighs a
match down when both sides name facets and share none, up a little when they share the one the report names first,
and down a little when they share only another; a report naming none is compared on its characters alone.

Each facet lists words for the object at fault, not for the places around it: 地铁 and 工地 are left out because
reports name them as landmarks (地铁站出口, 工地旁边) as often as the problem; generic words (施工, 邻居, 办理)
are left out because they name no object. A facet's name is its first word; the name, not the word, is compared,
so 路灯 and 灯不亮 count as one.

A business that vanishes with its customers' prepaid fees is named by its kind (健身房) as often as by the card, so
the gym is a facet of its own. Pests (蚊蝇, 老鼠) are not: reports name them beside the problem (a rubbish station's
smell, its flies), and as a facet they split one problem's reports in two on the evaluation streams.
"""

from __future__ import annotations

from functools import cache

import ahocorasick_rs

# One line per facet: words separated by spaces. Longer words win where two overlap (leftmost-longest matching).
FACETS = """
电梯 电梯 轿厢 困梯 直梯 电梯停运 电梯故障 升降梯
扶梯 扶梯 滚梯 自动扶梯
暖气 暖气 供暖 采暖 供热 立管 暖气片 地暖 室温 暖气管 锅炉
供水 停水 水压 自来水 水龙头 二次供水 水发黄 水浑浊 没水 断水 一滴水都没 一滴水也没 一滴水都不
燃气 燃气 煤气 天然气 漏气 燃气表 燃气管道 液化气
供电 停电 断电 跳闸 电压不稳 电压低 变压器
排水 下水道 污水井 化粪池 管道堵塞 返水 冒水 污水外溢 雨水口 雨水篦子
积水 积水 内涝 倒灌 淹水 水淹 淹了 蹚水 排水泵 就成河 都成河 又成河 成了河
路灯 路灯 灯不亮 灯坏 黑灯瞎火 照明
井盖 井盖 窨井
路面破损 坑洼 塌陷 路面坑 坑槽 路面开裂 破损路面 大坑
信号灯 信号灯 红绿灯 黄闪 左转灯 左转专用 绿灯 红灯 交通信号
共享单车 共享单车 单车 共享电单车
黑车 黑车 拉客 非法营运 摩的 趴活
停车位 车位 停车位 停车场 停车难 乱停车 乱停 违停 停车费 地锁 地桩 僵尸车 占道停车 停满
消防通道 消防通道 生命通道 消防车道
楼道堆物 楼道堆放 楼道杂物 堆放杂物 楼道内堆放 占用楼道 楼道里堆 飞线充电
充电桩 充电桩 充电设施 充电车棚
物业费 物业费 物业收费 涨价 调价 收费标准 维修基金 专项维修资金
门禁 门禁 门禁卡
垃圾 垃圾 垃圾桶 垃圾站 清运 建筑垃圾 垃圾成堆 乱倒
树木 砍树 修剪 树木 树枝 倒伏 毁绿 绿地
违建 违建 违章建筑 私搭乱建 加盖 违法建设 搭建 阳光房 彩钢房 钢结构
占道经营 占道经营 摆摊 流动摊贩 小摊 出摊 店外经营 摆放桌椅 外摆
施工噪音 打桩 夜间施工 施工扰民 工地噪音 施工噪音 连夜施工 罐车 破碎锤 破碎机 夜间作业 浇筑 泵车 电锯
广场舞 广场舞
娱乐场所 酒吧 KTV 歌厅 夜店
球场 篮球场 打球 足球场
装修 装修噪音 装修扰民
油烟 油烟 排烟 烧烤 烟味 烤串 撸串
异味 异味 臭味 恶臭 刺鼻 臭气
扬尘 扬尘 粉尘 裸土 苫盖 尘土 黄土 沙尘
养犬 养狗 遛狗 犬只 狗粪 拴绳 流浪狗 烈性犬 狗叫 宠物叫
欠薪 欠薪 讨薪 拖欠工资 工钱 劳务费 农民工工资 工资
社保 社保 养老保险 医保 医疗保险 失业保险 工伤 退休金 养老金 公积金 退休工资 工资标准
拆迁 拆迁 征收 征地 补偿款 安置房 回迁 腾退
房产证 房产证 不动产证 产权证 网签 交房 延期交房 烂尾
租房 房东 租客 押金 群租 隔断间
入学 入学 学位 招生 划片 转学 入园
培训 校外培训 培训机构 补课
预付卡 退费 预付卡 办卡 跑路 退款 会员卡 停业装修 暂停营业 闭店
诈骗 诈骗 骗子 被骗 集资 传销 骗局 保健品 返利 高息 理财 养生馆 养生会馆
盗窃 盗窃 被偷 偷盗 小偷 进了贼 进贼 撬锁 入室
公交 公交线路 公交车 班次 末班车 首班车 站台 候车亭 公交站台 公交站 站牌
宽带 宽带 手机信号 光纤 网速 没信号 信号差 信号弱 信号不好 信号覆盖 断网 光缆 基站
外墙 外墙 外墙皮 保温层 保温板 墙皮脱落 瓷砖脱落
漏雨 漏雨 屋顶漏水 楼顶漏水 房顶漏水 防水层 下雨就漏
渗水 渗水 漏水 渗漏 滴水
药品 开药 缺药 药品 配药 拿药 处方 慢性病药
焚烧 焚烧 露天焚烧 烧垃圾 烧电线 烧秸秆 烧荒
采砂 采砂 挖沙 盗采 取土 挖土
灌溉 灌溉 机井 浇地 春灌
物业交接 物业交接 撤场 新旧物业 物业撤离 物业撤了 物业走了
健身房 健身房 健身会所 健身中心 健身馆 游泳馆 游泳健身 私教 健身场所
护栏 护栏 隔离栏 隔离护栏
补贴 补贴 补助
助餐 助餐 老年餐桌 老年食堂 社区食堂 养老驿站
落石 落石 滚石 掉石头
宅基地 宅基地 翻建 翻盖
疫苗 疫苗 接种
食物中毒 食物中毒 腹泻 上吐下泻 拉肚子 吃坏肚子
课后服务 课后服务 托管 延时服务
""".strip()


@cache
def _automaton() -> tuple[ahocorasick_rs.AhoCorasick, list[str]]:
    words: list[str] = []
    names: list[str] = []
    for line in FACETS.splitlines():
        name, *synonyms = line.split()
        for word in dict.fromkeys([name, *synonyms]):
            words.append(word.lower())
            names.append(name)
    automaton = ahocorasick_rs.AhoCorasick(words, matchkind=ahocorasick_rs.MatchKind.LeftmostLongest)
    return automaton, names


def facets(text: str) -> list[str]:
    """The facets the text names, in order of first mention, each once."""
    automaton, names = _automaton()
    found = dict.fromkeys(names[index] for index, _, _ in automaton.find_matches_as_indexes(text.lower()))
    return list(found)
