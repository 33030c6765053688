"""Long letters of one kind (traffic) about different problems, and one about the same problem as the first: what
`cases.needs_a_member` is about. Only the opening counts for a signature, so each ends with what a letter adds."""

TAIL = (
    "以上意见恳请领导重视，盼望早日得到答复，谢谢！我们都是普通市民，只希望出行能更安全方便一些，"
    "也相信政府会认真对待群众的每一条建议。"
)

JUNCTION_LIGHTS = (
    "关于城北路与建设路交叉口信号灯配时不合理的意见。每天早晚高峰，城北路方向绿灯只有二十秒，车辆排队一公里以上，"
    "行人过街时间也不够，老人和孩子走到一半就变灯，非常危险。建议交管部门重新测算车流，延长绿灯时间，并增设行人"
    "二次过街的安全岛，同时在路口安装违停抓拍。" + TAIL
)
BUS_ROUTE = (
    "建议优化十二路公交线路。十二路公交车从火车站开往新区，途经多个大型居民区，但是发车间隔长达二十五分钟，早高峰"
    "车厢拥挤不堪，很多上班族只能打车。希望公交公司在早晚高峰加密班次，延长末班车时间到晚上十一点，并在新区增设两个"
    "站点，方便居民出行。" + TAIL
)
JUNCTION_LIGHTS_AGAIN = (
    "反映城北路与建设路路口的红绿灯问题。这个路口的信号灯时间设置得很不合理，城北路这边绿灯太短，高峰期车辆排起"
    "长队，过马路的行人也总是走不完就变红灯，家里老人每次过这个路口都提心吊胆，希望交警部门调整配时，延长行人通行"
    "时间。" + TAIL
)
TRAFFIC_IN_GENERAL = (
    "对本市道路交通管理的几点建议。近年来私家车数量增长很快，道路拥堵越来越严重，停车难的问题也很突出，很多小区周边"
    "的道路两侧停满车辆，公交车进出站都困难。建议加大公共交通投入，增加公交线路，规范路边停车管理，同时加强对违法"
    "停车的处罚力度，改善市民出行环境。" + TAIL
)
# Short reports of the junction's lights, as an operator sums a call up.
JUNCTION_LIGHTS_SHORT = "城北路与建设路路口的红绿灯，城北路方向绿灯太短，早高峰车辆排长队。"
JUNCTION_LIGHTS_SHORT_AGAIN = "建设路口信号灯时间不合理，行人过马路走到一半就变灯，请调整配时。"
# Another problem of the same road: like the mean of a case of the junction's reports, like none of them.
NIGHT_TRUCKS = (
    "反映城北路夜间大货车噪音扰民的问题。我家住在城北路边上，每天晚上十一点以后，大货车、渣土车和改装摩托车在"
    "城北路上呼啸而过，轰鸣声非常大，整夜无法入睡，家里老人和孩子都深受其害。恳请有关部门在夜间限制货车通行，对改装"
    "车辆加强查处，并在路边加装隔音屏障。" + TAIL
)
