package fund

import "time"

// Examples is the data tropa ships with: clearly invented stops, doctors and
// contacts, every one marked Example, so the pages show their shape until
// staff enter the fund's real ones (which are not public here). Names and
// streets are made up ("Примерная", "Образцовый"), the phone number uses the
// non-existent code 000 and the e-mail address the reserved example.org, so
// nobody is sent to a real person or place by mistake.
func Examples() Data {
	mon, tue, wed, thu, fri, sat, sun := time.Monday, time.Tuesday, time.Wednesday, time.Thursday, time.Friday, time.Saturday, time.Sunday
	return Data{
		Stops: []Stop{
			{
				Name:     L10n{RU: "Север (пример)", EN: "North (example)"},
				Address:  L10n{RU: "ул. Примерная, 1, у выхода из метро", EN: "1 Primernaya St, by the metro exit"},
				Slot:     Slot{Days: DaysOf(mon, wed, fri), From: "10:00", To: "14:00"},
				Services: ServiceHIVTest | ServiceSyringeExchange | ServiceDoctor,
				Note:     L10n{RU: "Врач принимает до 13:00.", EN: "The doctor sees people until 13:00."},
				Example:  true,
			},
			{
				Name:     L10n{RU: "Юг (пример)", EN: "South (example)"},
				Address:  L10n{RU: "пр. Образцовый, 12, у торгового центра", EN: "12 Obraztsovy Ave, by the shopping centre"},
				Slot:     Slot{Days: DaysOf(tue, thu), From: "15:00", To: "19:00"},
				Services: ServiceHIVTest | ServiceHepatitisTest | ServiceSyringeExchange,
				Note:     L10n{RU: "Тест на гепатиты B и C — только по четвергам.", EN: "Hepatitis B and C testing on Thursdays only."},
				Example:  true,
			},
			{
				Name:     L10n{RU: "Центр (пример)", EN: "Centre (example)"},
				Address:  L10n{RU: "пл. Условная, 3, во дворе", EN: "3 Uslovnaya Sq, in the courtyard"},
				Slot:     Slot{Days: DaysOf(sat), From: "12:00", To: "16:00"},
				Services: ServiceHIVTest | ServiceHepatitisTest | ServiceSyringeExchange | ServiceDoctor,
				Note:     L10n{RU: "В этот день — тестирование на ВИЧ и гепатиты.", EN: "HIV and hepatitis testing on this day."},
				Example:  true,
			},
			{
				Name:     L10n{RU: "Восток (пример)", EN: "East (example)"},
				Address:  L10n{RU: "наб. Пробная, 7", EN: "7 Probnaya Emb"},
				Slot:     Slot{Days: DaysOf(mon, tue, wed, thu, fri, sat), From: "18:00", To: "21:00"},
				Services: ServiceSyringeExchange,
				Example:  true,
			},
			{
				Name:     L10n{RU: "Запад (пример)", EN: "West (example)"},
				Address:  L10n{RU: "ул. Тестовая, 20, у остановки автобуса", EN: "20 Testovaya St, by the bus stop"},
				Slot:     Slot{Days: DaysOf(sun), From: "11:00", To: "15:00"},
				Services: ServiceHIVTest | ServiceSyringeExchange,
				Example:  true,
			},
		},
		Doctors: []Doctor{
			{
				Order:     10,
				Name:      L10n{RU: "А. А. Образцова (пример)", EN: "A. A. Obraztsova (example)"},
				Specialty: L10n{RU: "Инфекционист: ВИЧ, гепатиты", EN: "Infectious disease doctor: HIV, hepatitis"},
				Where:     L10n{RU: "Клиника-пример, ул. Примерная, 5, кабинет 12", EN: "Example clinic, 5 Primernaya St, room 12"},
				Hours:     []Slot{{Days: DaysOf(tue, thu), From: "10:00", To: "14:00"}},
				Booking: L10n{RU: "Через социального работника фонда: он запишет вас по коду, имя называть не нужно.",
					EN: "Through an outreach worker: they book you under a code, you don't need to give your name."},
				Example: true,
			},
			{
				Order:     20,
				Name:      L10n{RU: "Б. Б. Примеров (пример)", EN: "B. B. Primerov (example)"},
				Specialty: L10n{RU: "Хирург: раны, абсцессы", EN: "Surgeon: wounds and abscesses"},
				Where:     L10n{RU: "Поликлиника-пример, пр. Образцовый, 40", EN: "Example outpatient clinic, 40 Obraztsovy Ave"},
				Hours: []Slot{
					{Days: DaysOf(mon, wed, fri), From: "09:00", To: "12:00"},
					{Days: DaysOf(sat), From: "10:00", To: "13:00"},
				},
				Booking: L10n{RU: "Без записи, в часы приёма. Скажите, что вы от фонда.",
					EN: "No appointment needed during these hours. Say the fund sent you."},
				Note: L10n{RU: "Если покраснение растёт, вам жарко и знобит — не ждите приёма, звоните 103 или 112.",
					EN: "If redness spreads or you feel hot and shivery, don't wait for the appointment: call 103 or 112."},
				Example: true,
			},
			{
				Order:     30,
				Name:      L10n{RU: "В. В. Тестова (пример)", EN: "V. V. Testova (example)"},
				Specialty: L10n{RU: "Терапевт", EN: "General practitioner"},
				Where:     L10n{RU: "Медицинский центр-пример, наб. Пробная, 15", EN: "Example medical centre, 15 Probnaya Emb"},
				Hours:     []Slot{{Days: DaysOf(wed), From: "15:00", To: "19:00"}},
				Booking:   L10n{RU: "По горячей линии фонда.", EN: "Through the fund's hotline."},
				Example:   true,
			},
		},
		Contacts: []Contact{
			{
				Order: 10,
				Kind:  KindPhone,
				Label: L10n{RU: "Горячая линия фонда (пример)", EN: "The fund's hotline (example)"},
				Value: L10n{RU: "+7 000 000-00-00"},
				Hours: []Slot{{Days: DaysOf(mon, tue, wed, thu, fri), From: "10:00", To: "19:00"}},
				Note: L10n{RU: "Звонок не анонимен: ваш номер виден. Если это важно, задайте вопрос на сайте.",
					EN: "A call is not anonymous: your number is visible. If that matters, ask a question on this site."},
				Example: true,
			},
			{
				Order:   20,
				Kind:    KindEmail,
				Label:   L10n{RU: "Почта социальных работников (пример)", EN: "Outreach workers' e-mail (example)"},
				Value:   L10n{RU: "outreach@example.org"},
				Note:    L10n{RU: "Отвечаем в течение двух рабочих дней.", EN: "We answer within two working days."},
				Example: true,
			},
			{
				Order:   30,
				Kind:    KindVisit,
				Label:   L10n{RU: "В автобусе фонда (пример)", EN: "On the fund's bus (example)"},
				Value:   L10n{RU: "Подойдите к любому автобусу фонда", EN: "Come to any of the fund's buses"},
				Note:    L10n{RU: "Где и когда стоят автобусы — в расписании.", EN: "Where and when the buses stop is in the schedule."},
				Example: true,
			},
		},
	}
}
